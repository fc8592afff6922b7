import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An HTTP server on 127.0.0.1 serving one file as a CDN serves osv.dev's exports: with an
 * ETag and a Last-Modified, answering 304 to a matching If-None-Match (or, without one, an
 * If-Modified-Since not older than the file). It records every request's headers.
 */
export class ZipServer {
  readonly requests: IncomingHttpHeaders[] = [];
  private body: Buffer;
  private etag: string;
  private lastModified: string;

  private readonly server: Server;

  private constructor(body: Buffer) {
    this.body = body;
    this.etag = '"v1"';
    this.lastModified = new Date(Date.UTC(2026, 0, 1)).toUTCString();
    this.server = createServer((req, res) => {
      this.requests.push(req.headers);
      if (req.url !== '/npm/all.zip') {
        res.writeHead(404).end();
        return;
      }
      const match = req.headers['if-none-match'];
      const since = req.headers['if-modified-since'];
      const fresh = match !== undefined ? match === this.etag : since !== undefined && Date.parse(since) >= Date.parse(this.lastModified);
      if (fresh) {
        res.writeHead(304, { etag: this.etag, 'last-modified': this.lastModified }).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/zip', 'content-length': this.body.length, etag: this.etag, 'last-modified': this.lastModified }).end(this.body);
    });
  }

  static async start(body: Buffer): Promise<ZipServer> {
    const zipServer = new ZipServer(body);
    await new Promise<void>((resolve) => zipServer.server.listen(0, '127.0.0.1', resolve));
    return zipServer;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/npm/all.zip`;
  }

  /** Serves new bytes under a new ETag and a later Last-Modified. */
  replace(body: Buffer, version: number): void {
    this.body = body;
    this.etag = `"v${version}"`;
    this.lastModified = new Date(Date.UTC(2026, 0, version)).toUTCString();
  }

  get currentEtag(): string {
    return this.etag;
  }

  get currentLastModified(): string {
    return this.lastModified;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
