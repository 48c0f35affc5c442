// The loop that the event-log workers (push/pusher.ts, bots/webhooks.ts,
// assistant/runner.ts) share: one instance at a time holds the worker's lease
// (its state row, id 1: leaseOwner, leaseUntil) and works in rounds, one
// round at a time, a round asked for meanwhile running after it. What a round
// does is each worker's own; how it is scheduled and fenced is here.
import { randomUUID } from 'node:crypto';
import type { DataSource, EntityTarget } from 'typeorm';
import { writeAlone } from './transaction.js';

/** The columns of a worker's state row that the lease uses. */
export type LeaseRow = { id: number; leaseOwner: string | null; leaseUntil: number };

const STATE_ROW_ID = 1;

export class LeasedRounds {
  /** This instance, as the lease names it. */
  readonly owner = randomUUID();
  private running: Promise<void> | null = null;
  private runAgain = false;
  private stopped = false;
  private wakeTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly dataSource: DataSource,
    private readonly state: EntityTarget<LeaseRow>,
    /** A lease not renewed for this long passes to another instance. */
    private readonly leaseMs: number,
    private readonly round: () => Promise<void>,
    private readonly onError: (error: Error) => void,
  ) {}

  /** Runs a round now, or after the one running. */
  tick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.runAgain = true;
      return;
    }
    this.running = this.round()
      .catch(this.onError)
      .finally(() => {
        this.running = null;
        if (this.runAgain) {
          this.runAgain = false;
          this.tick();
        }
      });
  }

  /** Runs a round in `ms` (a later call replaces an earlier one). */
  wakeIn(ms: number): void {
    if (this.stopped) return;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = setTimeout(() => this.tick(), ms + 1);
    this.wakeTimer.unref();
  }

  /** Takes or renews the lease; false when another live instance holds it. */
  async holdLease(): Promise<boolean> {
    const now = Date.now();
    const result = await writeAlone(this.dataSource, (manager) =>
      manager
        .createQueryBuilder()
        .update(this.state)
        .set({ leaseOwner: this.owner, leaseUntil: now + this.leaseMs })
        .where('id = :id AND (leaseOwner = :owner OR leaseUntil < :now)', { id: STATE_ROW_ID, owner: this.owner, now })
        .execute(),
    );
    return (result.affected ?? 0) > 0;
  }

  /** Starts no more rounds and waits for the one running. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    await this.running;
  }

  /** Hands the lease on at once (at stop), so another instance need not wait for it to lapse. */
  async releaseLease(): Promise<void> {
    await writeAlone(this.dataSource, (manager) =>
      manager
        .createQueryBuilder()
        .update(this.state)
        .set({ leaseOwner: null, leaseUntil: 0 })
        .where('id = :id AND leaseOwner = :owner', { id: STATE_ROW_ID, owner: this.owner })
        .execute(),
    ).catch(() => undefined);
  }
}
