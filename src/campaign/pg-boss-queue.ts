import { createHash } from 'node:crypto';
import PgBoss from 'pg-boss';
import { StowageError, errorMessage } from '../core/errors.js';
import { campaignLeaseSeconds, PRIORITY, type JobQueue, type TakenJob } from './job-queue.js';

/**
 * The campaigns' queue on a PostgreSQL fleet: pg-boss 10 in its own schema of the fleet's
 * database, so `stowage fleet worker` processes on any number of machines share it. A job is
 * fetched (SKIP LOCKED: one worker each) and stays `active` while its worker renews it; a
 * worker that dies stops renewing, pg-boss's maintenance expires the job after the lease, and
 * its retry goes to another worker. Loaded only for a PostgreSQL store (dynamic import).
 *
 * pg-boss 10 has no heartbeat of its own and fails a job whose handler outlives `expireIn`, so
 * the worker fetches and completes jobs itself and renews by moving the job's `started_on`
 * (expiry is `started_on + expire_in < now()` in pg-boss 10's maintenance): a build may take
 * longer than the lease, a dead worker's job is retried one lease after its last renewal.
 */

const SCHEMA = 'stowage_jobs';
const QUEUE = 'campaign-app';
/** Retries after a worker died: far more than deaths one job meets, and a bound on a job that kills its workers. */
const RETRY_LIMIT = 10;

/** The job of one application in one campaign: a UUID made from both (name-based, as RFC 9562's version 5 is), the same at every enqueue. */
function jobId(campaignId: number, appId: number): string {
  const hex = createHash('sha256').update(`stowage campaign job ${campaignId} ${appId}`).digest('hex');
  const variant = ((parseInt(hex.slice(16, 17), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export class PgBossJobQueue implements JobQueue {
  private constructor(
    private readonly boss: PgBoss,
    readonly leaseSeconds: number,
  ) {}

  static async open(url: string, location: string, lease: number = campaignLeaseSeconds()): Promise<PgBossJobQueue> {
    const boss = new PgBoss({
      connectionString: url,
      schema: SCHEMA,
      max: 2,
      // Expiry is checked at each maintenance: as often as the lease is long.
      maintenanceIntervalSeconds: lease,
      monitorStateIntervalSeconds: Math.max(lease, 1),
    });
    boss.on('error', () => undefined);
    try {
      await boss.start();
      if ((await boss.getQueue(QUEUE)) === null) {
        // Two workers starting at once may both create it: the loser finds it made.
        await boss.createQueue(QUEUE, { name: QUEUE, retryLimit: RETRY_LIMIT, retryDelay: 0, expireInSeconds: lease }).catch(async (err: unknown) => {
          if ((await boss.getQueue(QUEUE)) === null) throw err;
        });
      }
    } catch (err) {
      await boss.stop({ graceful: false, wait: false }).catch(() => undefined);
      throw new StowageError(`cannot open the campaign job queue (pg-boss): ${errorMessage(err)}`, location);
    }
    return new PgBossJobQueue(boss, lease);
  }

  async enqueue(campaignId: number, appIds: number[], priority: number): Promise<void> {
    // pg-boss inserts with ON CONFLICT DO NOTHING on (name, id): an id of the application's own makes it idempotent.
    await this.boss.insert(
      appIds.map((appId) => ({ id: jobId(campaignId, appId), name: QUEUE, data: { campaignId, appId }, priority, retryLimit: RETRY_LIMIT, retryDelay: 0, expireInSeconds: this.leaseSeconds })),
    );
  }

  async enqueueSync(): Promise<boolean> {
    const db = this.boss.getDb();
    // One sync waiting is enough: servers ticking at once may both queue one, which costs a sync, nothing more.
    const waiting = await db.executeSql(`SELECT 1 FROM ${SCHEMA}.job WHERE name = $1 AND state IN ('created', 'retry') AND data->>'kind' = 'sync' LIMIT 1`, [QUEUE]);
    if (waiting.rows.length > 0) return false;
    await this.boss.insert([{ name: QUEUE, data: { kind: 'sync' }, priority: PRIORITY.scheduled, retryLimit: RETRY_LIMIT, retryDelay: 0, expireInSeconds: this.leaseSeconds }]);
    return true;
  }

  async take(): Promise<TakenJob | null> {
    // One queue for both kinds, so pg-boss's priority orders a campaign's jobs before scheduled syncs.
    const [job] = await this.boss.fetch<{ kind?: 'sync'; campaignId?: number; appId?: number }>(QUEUE, { batchSize: 1, priority: true });
    if (job === undefined) return null;
    const db = this.boss.getDb();
    // The lease is the holding worker's: its renewals set the expiry, whatever the sender's was.
    const renew = async (): Promise<void> => {
      // The schema and table are pg-boss's (constants above); the values bound parameters.
      await db.executeSql(`UPDATE ${SCHEMA}.job SET started_on = now(), expire_in = make_interval(secs => $3) WHERE name = $1 AND id = $2 AND state = 'active'`, [
        QUEUE,
        job.id,
        this.leaseSeconds,
      ]);
    };
    await renew();
    return {
      job: job.data.kind === 'sync' ? { kind: 'sync' } : { kind: 'campaign-app', campaignId: Number(job.data.campaignId), appId: Number(job.data.appId) },
      renew,
      done: async () => {
        await this.boss.complete(QUEUE, job.id);
      },
    };
  }

  async pending(): Promise<number> {
    return this.boss.getQueueSize(QUEUE, { before: 'completed' });
  }

  async cancel(campaignId: number): Promise<void> {
    const db = this.boss.getDb();
    await db.executeSql(
      `UPDATE ${SCHEMA}.job SET state = 'cancelled', completed_on = now() WHERE name = $1 AND state IN ('created', 'retry') AND (data->>'campaignId')::bigint = $2`,
      [QUEUE, campaignId],
    );
  }

  async close(): Promise<void> {
    await this.boss.stop({ graceful: false, wait: true });
  }
}
