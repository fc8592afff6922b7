import { copyFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { newToken } from '../../src/server/auth.js';
import { CARGO_CORPUS, tempDir } from './shared.js';

/**
 * A server that `fleet push` talks to in place of a fleet server: each request's body is read
 * whole, then `answer` answers it (a hostile answer, a 503, a cut connection...).
 */

export interface FakeServer {
  url: string;
  /** Bytes of the answer's body written before the client stopped reading. */
  sent: () => number;
  /** Requests whose body was read whole. */
  requests: () => number;
  close: () => Promise<void>;
}

export async function fakeServer(answer: (res: ServerResponse, counted: (n: number) => void) => void): Promise<FakeServer> {
  let sent = 0;
  let requests = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      requests++;
      answer(res, (n) => (sent += n));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    sent: () => sent,
    requests: () => requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** An application to push (ripgrep's Cargo.lock), a token file, and a cache directory. */
export function pushSetup(): { app: string; tokenFile: string; cacheDir: string } {
  const dir = tempDir('push-answer');
  const app = join(dir, 'rg.Cargo.lock');
  copyFileSync(join(CARGO_CORPUS, 'ripgrep-2023-09-01.Cargo.lock'), app);
  const tokenFile = join(dir, 'ci.token');
  writeFileSync(tokenFile, `${newToken()}\n`);
  return { app, tokenFile, cacheDir: tempDir('push-answer-cache') };
}
