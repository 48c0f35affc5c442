// Crash safety, against real server processes on a fresh MariaDB database: a
// process is SIGKILLed while a client has sends with clientMessageIds in
// flight. A new process on the same database must hold every acknowledged
// message exactly once; retrying every send with its clientMessageId must
// return the original of an acknowledged one and store an unacknowledged one
// at most once; and a subscriber resuming from a cursor taken before the crash
// must receive every committed message exactly once, in order.
import { randomBytes } from 'node:crypto';
import type { Client } from 'graphql-ws';
import { createConnection } from 'mysql2/promise';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { data, openDirect, readHistory, send, signUp, uniqueName } from '../helpers/client.js';
import { type Instance, startInstance } from '../helpers/processes.js';
import { dropMysqlDatabase, TEST_MYSQL_URL } from '../helpers/server.js';
import { type Collector, connect, subscribe } from '../helpers/ws.js';
import { timedGql } from './helpers.js';

/** Sends in all, and how many may be in flight at once. */
const TOTAL = 300;
const IN_FLIGHT = 16;
/**
 * Once this many sends were acknowledged, the test watches the database and
 * kills the process the moment it holds a message the client has no answer
 * for (committed, response not yet received), or after KILL_DEADLINE_MS.
 */
const KILL_AFTER_ACKS = 100;
const KILL_DEADLINE_MS = 3_000;

const MESSAGE_EVENTS = `subscription ($conversationId: ID, $after: String) {
  messageEvents(conversationId: $conversationId, after: $after) { kind cursor message { id body clientMessageId } }
}`;
const SEND = 'mutation ($input: SendMessageInput!) { sendMessage(input: $input) { id body clientMessageId } }';
const EVENT_CURSOR = 'query ($id: ID!) { messages(conversationId: $id, last: 1) { eventCursor } }';

type Message = { id: string; body: string; clientMessageId: string | null };
type MessageEvent = { kind: string; cursor: string; message: Message };

const clientMessageId = (index: number) => `crash-${index}`;
const bodyOf = (index: number) => `message ${index}`;

/** How often each value occurs more than once. */
function duplicates(values: (string | null)[]): string[] {
  const counts = new Map<string | null, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return [...counts].filter(([, count]) => count > 1).map(([value, count]) => `${value} ×${count}`);
}

const openClients: Client[] = [];
afterEach(async () => {
  await Promise.allSettled(openClients.splice(0).map((client) => client.dispose()));
});

describe('a server process killed in the middle of sends', () => {
  const name = `chat_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const env = { DATABASE_URL: `${TEST_MYSQL_URL}/${name}` };
  const instances: Instance[] = [];
  const start = async () => {
    const instance = await startInstance(env);
    instances.push(instance);
    return instance;
  };
  afterAll(async () => {
    for (const instance of instances) instance.kill('SIGKILL');
    await Promise.all(instances.map((instance) => instance.exited));
    await dropMysqlDatabase(name);
  });

  it('loses and repeats nothing: acknowledged sends are stored once, retries are idempotent, resume is exact', async () => {
    const first = await start();
    const [alice, bob] = [
      await signUp(first.graphqlUrl, uniqueName('alice')),
      await signUp(first.graphqlUrl, uniqueName('bob')),
    ];
    const direct = await openDirect(first.graphqlUrl, alice, bob);
    // The cursor from before the crash: everything after it is what a resuming subscriber must get.
    const cursorBefore: string = (await data(first.graphqlUrl, EVENT_CURSOR, { id: direct }, bob.token)).messages
      .eventCursor;
    await send(first.graphqlUrl, alice, direct, 'before the crash');
    // A subscriber that is live on the process when it dies.
    const liveClient = connect(first.graphqlUrl, bob.token);
    openClients.push(liveClient);
    const live: Collector<{ messageEvents: MessageEvent }> = subscribe(liveClient, MESSAGE_EVENTS, {
      conversationId: direct,
      after: cursorBefore,
    });
    await live.waitUntil((event) => event.messageEvents.message.body === 'before the crash', 30_000);

    // --- Concurrent sends, and SIGKILL in the middle of them ----------------------
    const acknowledged = new Map<number, Message>();
    const unacknowledged = new Set<number>();
    let next = 0;
    let inFlight = 0;
    let inFlightAtKill = -1;
    let killed = false;
    const worker = async () => {
      while (next < TOTAL && !killed) {
        const index = next++;
        inFlight++;
        try {
          const answer = await timedGql(
            first.graphqlUrl,
            SEND,
            { input: { conversationId: direct, body: bodyOf(index), clientMessageId: clientMessageId(index) } },
            alice.token,
            30_000,
          );
          const message: Message | undefined = answer.body?.data?.sendMessage;
          if (message) acknowledged.set(index, message);
          else unacknowledged.add(index);
        } catch {
          unacknowledged.add(index); // the connection died with the process
        } finally {
          inFlight--;
        }
      }
    };
    const killer = async () => {
      while (acknowledged.size < KILL_AFTER_ACKS && next < TOTAL)
        await new Promise((resolve) => setTimeout(resolve, 5));
      const database = await createConnection({ uri: env.DATABASE_URL });
      try {
        const deadline = Date.now() + KILL_DEADLINE_MS;
        while (Date.now() < deadline && next < TOTAL) {
          const [rows]: any = await database.query(
            'SELECT COUNT(*) AS n FROM messages WHERE clientMessageId IS NOT NULL',
          );
          if (Number(rows[0].n) > acknowledged.size) break;
        }
      } finally {
        await database.end();
      }
      killed = true;
      inFlightAtKill = inFlight;
      first.kill('SIGKILL');
    };
    await Promise.all([killer(), ...Array.from({ length: IN_FLIGHT }, worker)]);
    expect(await first.exited).toBeNull(); // killed by a signal, not exited
    // Sends never started count as unacknowledged too: the client retries them all.
    for (let index = next; index < TOTAL; index++) unacknowledged.add(index);
    expect(acknowledged.size + unacknowledged.size).toBe(TOTAL);
    for (const [index, message] of acknowledged) {
      expect(message).toEqual({ id: expect.any(String), body: bodyOf(index), clientMessageId: clientMessageId(index) });
    }
    console.info(
      `[crash] killed with ${inFlightAtKill} sends in flight: ${acknowledged.size} acknowledged, ` +
        `${unacknowledged.size} not (${TOTAL - next} never sent)`,
    );
    await live.ended(30_000);

    // --- A new process on the same database ---------------------------------------
    const second = await start();
    const url = second.graphqlUrl;
    const afterCrash = await readHistory(url, bob, direct);
    const afterCrashIds = new Set(afterCrash.map((message) => message.id));
    expect(duplicates(afterCrash.map((message) => message.id))).toEqual([]);
    expect(duplicates(afterCrash.map((message) => message.clientMessageId).filter((id) => id !== null))).toEqual([]);
    // Every acknowledged message is there, exactly as acknowledged.
    const missing = [...acknowledged.values()].filter((message) => !afterCrashIds.has(message.id));
    expect(missing).toEqual([]);
    for (const message of afterCrash.slice(1)) {
      expect(message.body).toBe(bodyOf(Number(message.clientMessageId!.replace('crash-', ''))));
    }
    const committedUnacknowledged = afterCrash.length - 1 - acknowledged.size;
    console.info(`[crash] ${committedUnacknowledged} sends were committed but not acknowledged before the kill`);

    // A subscriber resuming from the cursor taken before the crash, started before the retries.
    const resumingClient = connect(url, bob.token);
    openClients.push(resumingClient);
    const resuming = subscribe<{ messageEvents: MessageEvent }>(resumingClient, MESSAGE_EVENTS, {
      conversationId: direct,
      after: cursorBefore,
    });
    await resuming.waitFor(afterCrash.length, 30_000);

    // --- Every send retried with its clientMessageId ------------------------------
    // Unacknowledged ones twice at once: concurrent retries must not store two messages either.
    const retries: { index: number; message: Message | undefined; errors: unknown }[] = [];
    const queue = [...Array.from({ length: TOTAL }, (_, index) => index), ...unacknowledged];
    let cursor = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (cursor < queue.length) {
          const index = queue[cursor++]!;
          const answer = await timedGql(
            url,
            SEND,
            { input: { conversationId: direct, body: bodyOf(index), clientMessageId: clientMessageId(index) } },
            alice.token,
            30_000,
          );
          retries.push({ index, message: answer.body?.data?.sendMessage, errors: answer.body?.errors });
        }
      }),
    );
    expect(retries.filter((retry) => !retry.message)).toEqual([]);
    // An acknowledged send's retry returns the original message.
    for (const retry of retries.filter((retry) => acknowledged.has(retry.index))) {
      expect(retry.message).toEqual(acknowledged.get(retry.index));
    }
    // Both retries of an unacknowledged send return the same message.
    const retriedIds = new Map<number, Set<string>>();
    for (const retry of retries)
      retriedIds.set(retry.index, (retriedIds.get(retry.index) ?? new Set()).add(retry.message!.id));
    expect([...retriedIds].filter(([, ids]) => ids.size > 1)).toEqual([]);

    const final = await readHistory(url, bob, direct);
    expect(final[0]).toMatchObject({ body: 'before the crash', clientMessageId: null });
    // One message per clientMessageId: every send stored exactly once in the end.
    expect(final).toHaveLength(1 + TOTAL);
    expect(duplicates(final.map((message) => message.clientMessageId))).toEqual([]);
    expect(new Set(final.slice(1).map((message) => message.clientMessageId))).toEqual(
      new Set(Array.from({ length: TOTAL }, (_, index) => clientMessageId(index))),
    );
    // What was committed before the crash kept its id; retries of the rest each stored one message.
    expect(final.filter((message) => afterCrashIds.has(message.id))).toEqual(afterCrash);
    for (const [index, ids] of retriedIds) {
      expect(final.find((message) => message.clientMessageId === clientMessageId(index))!.id).toBe([...ids][0]);
    }

    // --- Resume: every committed message once, in order -----------------------------
    await send(url, alice, direct, 'fence');
    await resuming.waitUntil((event) => event.messageEvents.message.body === 'fence', 60_000);
    const resumed = resuming.events.map((event) => event.messageEvents);
    expect(resumed.every((event) => event.kind === 'CREATED')).toBe(true);
    expect(resumed.map((event) => event.message.id)).toEqual([
      ...final.map((message) => message.id),
      resumed.at(-1)!.message.id,
    ]);
    expect(resuming.errors).toEqual([]);

    // The subscriber that was live when the process died resumes from its last cursor, on the new process.
    const before = live.events.map((event) => event.messageEvents);
    const againClient = connect(url, bob.token);
    openClients.push(againClient);
    const again = subscribe<{ messageEvents: MessageEvent }>(againClient, MESSAGE_EVENTS, {
      conversationId: direct,
      after: before.at(-1)!.cursor,
    });
    await again.waitUntil((event) => event.messageEvents.message.body === 'fence', 60_000);
    const whole = [...before, ...again.events.map((event) => event.messageEvents)];
    console.info(`[crash] the live subscriber had ${before.length} events when the process died`);
    expect(whole.map((event) => event.message.id)).toEqual(resumed.map((event) => event.message.id));
  });
});
