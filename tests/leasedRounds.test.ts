// The loop the event-log workers share (db/leasedRounds.ts): the lease is
// renewed at most once per quarter of its term (a round under load needs no
// write of its own), the position moves only for the holder, and rounds
// asked for while one runs collapse into one that starts only after the
// configured gap.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhookState } from '../src/bots/entities.js';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/dataSource.js';
import { LeasedRounds } from '../src/db/leasedRounds.js';
import { transaction } from '../src/db/transaction.js';
import { createLogger } from '../src/logger.js';
import { eventually, sleep } from './helpers/wait.js';

const LEASE_MS = 2_000;

let dir: string;
let dataSource: DataSource;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'leased-rounds-'));
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    JWT_SECRET: 'leased-rounds-test-secret-long-enough',
    SQLITE_PATH: join(dir, 'chat.sqlite'),
  });
  dataSource = await openDatabase(config, createLogger(config));
});
afterAll(async () => {
  await dataSource?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const noRound = async () => undefined;
const failOnError = (error: Error) => {
  throw error;
};
const leaseRow = () => dataSource.manager.findOneByOrFail(WebhookState, { id: 1 });

describe('LeasedRounds', () => {
  it('renews a held lease at most once per quarter of its term, and no other instance takes it meanwhile', async () => {
    const holder = new LeasedRounds(dataSource, WebhookState, LEASE_MS, noRound, failOnError);
    const other = new LeasedRounds(dataSource, WebhookState, LEASE_MS, noRound, failOnError);
    expect(await holder.holdLease()).toBe(true);
    const taken = await leaseRow();
    expect(taken.leaseOwner).toBe(holder.owner);

    // Shortly after (a renewal would have moved leaseUntil): still held, and nothing written.
    await sleep(20);
    expect(await holder.holdLease()).toBe(true);
    expect((await leaseRow()).leaseUntil).toBe(taken.leaseUntil);
    expect(await other.holdLease()).toBe(false);

    // A quarter of the term later the holder renews it.
    await sleep(LEASE_MS / 4 + 50);
    expect(await holder.holdLease()).toBe(true);
    const renewed = await leaseRow();
    expect(renewed.leaseOwner).toBe(holder.owner);
    expect(renewed.leaseUntil).toBeGreaterThan(taken.leaseUntil);

    // Released, it passes on at once; the former holder asks the row again rather than trusting its renewal.
    await holder.releaseLease();
    expect(await other.holdLease()).toBe(true);
    expect(await holder.holdLease()).toBe(false);
    await other.releaseLease();
  });

  it('moves the position for the lease holder only, and only from where it read it', async () => {
    const holder = new LeasedRounds(dataSource, WebhookState, LEASE_MS, noRound, failOnError);
    const other = new LeasedRounds(dataSource, WebhookState, LEASE_MS, noRound, failOnError);
    try {
      expect(await holder.holdLease()).toBe(true);
      const start = await holder.position();
      expect(start).toBe((await leaseRow()).position);
      const move = (rounds: LeasedRounds, from: number, through: number) =>
        transaction(dataSource, (manager) => rounds.movePosition(manager, from, through));

      expect(await move(holder, start, start + 5)).toBe(true);
      expect(await other.position()).toBe(start + 5);
      // Not the holder: nothing moves.
      expect(await move(other, start + 5, start + 9)).toBe(false);
      // A round that read an older position (another round moved it since): nothing moves.
      expect(await move(holder, start, start + 7)).toBe(false);
      expect((await leaseRow()).position).toBe(start + 5);
    } finally {
      await holder.releaseLease();
    }
  });

  it('collapses the rounds asked for while one runs into one, started the gap after it', async () => {
    const GAP_MS = 150;
    const started: number[] = [];
    let finishRound = () => {};
    const round = () =>
      new Promise<void>((resolve) => {
        started.push(performance.now());
        finishRound = resolve;
      });
    const rounds = new LeasedRounds(dataSource, WebhookState, LEASE_MS, round, failOnError, GAP_MS);
    try {
      rounds.tick();
      expect(started).toHaveLength(1);
      rounds.tick();
      rounds.tick();
      rounds.tick();
      expect(started).toHaveLength(1);

      const endedAt = performance.now();
      finishRound();
      await sleep(GAP_MS / 3);
      // Asked for during the gap too: still the one round after it.
      rounds.tick();
      expect(started).toHaveLength(1);
      await eventually(() => started.length === 2, 'the second round');
      // Node's timers may fire up to a millisecond early against performance.now().
      expect(started[1]! - endedAt).toBeGreaterThanOrEqual(GAP_MS - 2);
      finishRound();
      await sleep(GAP_MS * 2);
      expect(started).toHaveLength(2);

      // Asked for when nothing ran lately: at once.
      rounds.tick();
      expect(started).toHaveLength(3);
      finishRound();
    } finally {
      await rounds.stop();
    }
  });
});
