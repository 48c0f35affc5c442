// The loop that the event-log workers (push/pusher.ts, bots/webhooks.ts,
// assistant/runner.ts) share: one instance at a time holds the worker's lease
// (its state row, id 1: leaseOwner, leaseUntil) and works in rounds, one
// round at a time, a round asked for meanwhile running after it. Each worker
// reads the event log after its durable position (the state row's too), and
// moves it, fenced by the lease. What a round does is each worker's own; how
// it is scheduled and fenced is here.
import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager, EntityTarget } from 'typeorm';
import { execute } from './prepared.js';
import { writeAlone } from './transaction.js';

/** The columns of a worker's state row that the lease and the position use. */
export type LeaseRow = { id: number; position: number; leaseOwner: string | null; leaseUntil: number };

const STATE_ROW_ID = 1;

export class LeasedRounds {
  /** This instance, as the lease names it. */
  readonly owner = randomUUID();
  private running: Promise<void> | null = null;
  private runAgain = false;
  private stopped = false;
  private wakeTimer: NodeJS.Timeout | null = null;
  /** When this instance last took or renewed the lease (Date.now()), 0 while it does not hold it. */
  private renewedAt = 0;
  /** While a gap after a round runs (see roundGapMs), the timer that ends it. */
  private gapTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly dataSource: DataSource,
    private readonly state: EntityTarget<LeaseRow>,
    /** A lease not renewed for this long passes to another instance. */
    private readonly leaseMs: number,
    private readonly round: () => Promise<void>,
    private readonly onError: (error: Error) => void,
    /**
     * How long a round asked for while another ran waits after it: under load
     * (a bell with every commit) rounds then each take a batch of events
     * rather than running back to back, each with its fixed statements.
     */
    private readonly roundGapMs = 0,
  ) {}

  /** Runs a round now, or after the one running (roundGapMs after it). */
  tick(): void {
    if (this.stopped) return;
    if (this.running || this.gapTimer) {
      this.runAgain = true;
      return;
    }
    this.running = this.round()
      .catch(this.onError)
      .finally(() => {
        this.running = null;
        if (!this.runAgain) return;
        this.runAgain = false;
        if (this.roundGapMs === 0) return this.tick();
        this.gapTimer = setTimeout(() => {
          this.gapTimer = null;
          this.runAgain = false;
          this.tick();
        }, this.roundGapMs);
        this.gapTimer.unref();
      });
  }

  /** Runs a round in `ms` (a later call replaces an earlier one). */
  wakeIn(ms: number): void {
    if (this.stopped) return;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = setTimeout(() => this.tick(), ms + 1);
    this.wakeTimer.unref();
  }

  /**
   * Takes or renews the lease; false when another live instance holds it.
   * Renewed within the last quarter of its term, it is still ours for most of
   * it, so the round goes on without a write: under load rounds run back to
   * back, and a renewal each was a commit (on SQLite an fsync) per round. Every
   * change a round makes is fenced by the lease anyway (the position moves
   * only for its owner, claims are conditional), so a round that overlaps a
   * lease taken from it changes nothing.
   */
  async holdLease(): Promise<boolean> {
    const now = Date.now();
    if (now - this.renewedAt < this.leaseMs / 4) return true;
    const result = await writeAlone(this.dataSource, (manager) =>
      manager
        .createQueryBuilder()
        .update(this.state)
        .set({ leaseOwner: this.owner, leaseUntil: now + this.leaseMs })
        .where('id = :id AND (leaseOwner = :owner OR leaseUntil < :now)', { id: STATE_ROW_ID, owner: this.owner, now })
        .execute(),
    );
    const held = (result.affected ?? 0) > 0;
    this.renewedAt = held ? now : 0;
    return held;
  }

  /**
   * The worker's position in the event log: every event up to it is
   * handled. Prepared, as movePosition is: under load a round runs every few
   * tens of milliseconds.
   */
  async position(): Promise<number> {
    const { rows } = await execute(this.dataSource.manager, `SELECT position FROM ${this.table} WHERE id = ?`, [
      STATE_ROW_ID,
    ]);
    return Number(rows[0]!.position);
  }

  /**
   * In the caller's transaction (with the work the events made): moves the
   * position from `from`, where the round read it, to `through`. Fenced: false,
   * and nothing moves, once another instance holds the lease or moved it.
   */
  async movePosition(manager: EntityManager, from: number, through: number): Promise<boolean> {
    const { affectedRows } = await execute(
      manager,
      `UPDATE ${this.table} SET position = ? WHERE id = ? AND position = ? AND leaseOwner = ?`,
      [through, STATE_ROW_ID, from, this.owner],
    );
    return affectedRows > 0;
  }

  private get table(): string {
    return this.dataSource.driver.escape(this.dataSource.getMetadata(this.state).tableName);
  }

  /** Starts no more rounds and waits for the one running. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    if (this.gapTimer) clearTimeout(this.gapTimer);
    await this.running;
  }

  /** Hands the lease on at once (at stop), so another instance need not wait for it to lapse. */
  async releaseLease(): Promise<void> {
    this.renewedAt = 0;
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
