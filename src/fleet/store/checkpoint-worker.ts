import { parentPort, workerData } from 'node:worker_threads';
import { openSqlite } from '../../advisories/advisory-index.js';
import { BUSY_TIMEOUT_MS, type CheckpointResult } from './checkpoint.js';

/**
 * A thread that checkpoints a fleet store's WAL with a connection of its own (checkpoint.ts),
 * while the thread that committed goes on. Its connection closes after the checkpoint: if it is
 * the last one open on the file, SQLite checkpoints what came since and deletes the WAL, here too.
 */
const { file } = workerData as { file: string };
const db = openSqlite(file, {});
try {
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  // As the store's own connections: the database file synced after the copy, the WAL before it.
  db.pragma('synchronous = NORMAL');
  const row = db.pragma('wal_checkpoint(PASSIVE)', { simple: false }) as { busy: number; log: number; checkpointed: number }[];
  const result: CheckpointResult = { busy: Number(row[0]?.busy ?? 0), frames: Number(row[0]?.log ?? 0), checkpointed: Number(row[0]?.checkpointed ?? 0) };
  parentPort?.postMessage(result);
} finally {
  db.close();
}
