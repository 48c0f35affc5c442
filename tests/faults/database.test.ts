// A database outage, against a real server process and a MariaDB of the
// test's own (the shared one on 3306 is left alone): while MariaDB is down for
// 30 seconds, every request fails fast with the masked error, /ready says 503
// and /health 200; once it is back on the same data directory and port, the
// same process serves everything again (sign-up, sends, history,
// subscriptions) without a restart, and nothing stored before is lost.
import type { Client } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { data, openDirect, readHistory, send, signUp, type TestUser, uniqueName } from '../helpers/client.js';
import { type Instance, startInstance } from '../helpers/processes.js';
import { type Collector, connect, rawSocket, subscribe } from '../helpers/ws.js';
import {
  type Answer,
  eventually,
  leaksIn,
  maskedErrorProblems,
  type PrivateMariadb,
  sleep,
  startPrivateMariadb,
  statusOf,
  timedGql,
  withDeadline,
} from './helpers.js';

const OUTAGE_MS = 30_000;
/** Every request during the outage must answer within this: failing fast, not hanging on a dead pool. */
const FAIL_FAST_MS = 10_000;
/** Once MariaDB answers again, the server must be fully back within this. */
const RECOVERY_MS = 60_000;

const MESSAGE_EVENTS = `subscription ($conversationId: ID, $after: String) {
  messageEvents(conversationId: $conversationId, after: $after) { kind cursor message { id body } }
}`;
const HISTORY = `query ($id: ID!, $after: String) {
  messages(conversationId: $id, first: 100, after: $after) {
    eventCursor edges { node { id body } } pageInfo { hasNextPage endCursor }
  }
}`;
const SEND = 'mutation ($input: SendMessageInput!) { sendMessage(input: $input) { id body } }';
const SIGN_UP = 'mutation ($input: SignUpInput!) { signUp(input: $input) { token user { id } } }';
const LOG_IN = 'mutation ($input: LogInInput!) { logIn(input: $input) { token } }';
const EVENT_CURSOR = 'query ($id: ID!) { messages(conversationId: $id, last: 1) { eventCursor } }';

type MessageEvent = { kind: string; cursor: string; message: { id: string; body: string } };

type SocketAttempt = { ms: number; closeCode: number | null; closeReason: string; frames: any[] };

/** Opens a raw socket, authenticates and subscribes; resolves once the attempt has ended one way or another. */
async function subscriptionAttempt(graphqlUrl: string, token: string, conversationId: string): Promise<SocketAttempt> {
  const started = Date.now();
  const raw = await rawSocket(graphqlUrl);
  const attempt: SocketAttempt = { ms: 0, closeCode: null, closeReason: '', frames: [] };
  raw.socket.on('error', () => undefined);
  raw.socket.on('message', (message) => {
    const frame = JSON.parse(String(message));
    attempt.frames.push(frame);
    if (frame.type === 'connection_ack') {
      raw.send({ id: 'outage', type: 'subscribe', payload: { query: MESSAGE_EVENTS, variables: { conversationId } } });
    }
  });
  const ended = new Promise<void>((resolve) => {
    void raw.closed.then(({ code, reason }) => {
      attempt.closeCode = code;
      attempt.closeReason = reason;
      resolve();
    });
    raw.socket.on('message', () => {
      if (attempt.frames.some((frame) => frame.type === 'error' || frame.type === 'complete')) resolve();
    });
  });
  raw.send({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } });
  try {
    await withDeadline(ended, FAIL_FAST_MS, 'a subscription attempt during the outage');
  } finally {
    attempt.ms = Date.now() - started;
    raw.socket.terminate();
  }
  return attempt;
}

/** What is wrong with how a subscription attempt during the outage ended. */
function attemptProblems(attempt: SocketAttempt): string[] {
  const problems = leaksIn(attempt.closeReason).map((leak) => `close reason ${leak}: ${attempt.closeReason}`);
  if (attempt.frames.some((frame) => frame.type === 'next' && frame.payload?.data)) {
    problems.push(`received data while the database was down: ${JSON.stringify(attempt.frames).slice(0, 300)}`);
  }
  for (const frame of attempt.frames) {
    const errors = frame.type === 'error' ? frame.payload : frame.type === 'next' ? (frame.payload?.errors ?? []) : [];
    for (const error of errors) {
      if (error?.message !== 'Unexpected error.') problems.push(`not the masked error: ${JSON.stringify(error)}`);
      problems.push(...leaksIn(JSON.stringify(error)));
    }
  }
  return problems;
}

const openClients: Client[] = [];
afterEach(async () => {
  await Promise.allSettled(openClients.splice(0).map((client) => client.dispose()));
});

describe('a server whose MariaDB goes away for 30 seconds', () => {
  let db: PrivateMariadb;
  let instance: Instance;
  beforeAll(async () => {
    db = await startPrivateMariadb();
    instance = await startInstance({ DATABASE_URL: `${db.url}/chat_outage` });
  }, 180_000);
  afterAll(async () => {
    if (instance) {
      instance.kill('SIGKILL');
      await instance.exited;
    }
    await db?.destroy();
  });

  it(
    'fails fast with the masked error during the outage, reports not ready, and recovers by itself',
    { timeout: 300_000 },
    async () => {
      const url = instance.graphqlUrl;
      const pid = instance.process.pid;
      const [alice, bob] = [await signUp(url, uniqueName('alice')), await signUp(url, uniqueName('bob'))];
      const direct = await openDirect(url, alice, bob);
      const cursor = (await data(url, EVENT_CURSOR, { id: direct }, bob.token)).messages.eventCursor;
      // Bob's subscription lives through the outage.
      const throughOutage = connect(url, bob.token);
      openClients.push(throughOutage);
      const live: Collector<{ messageEvents: MessageEvent }> = subscribe(throughOutage, MESSAGE_EVENTS, {
        conversationId: direct,
        after: cursor,
      });
      await send(url, alice, direct, 'before the outage');
      await live.waitUntil((event) => event.messageEvents.message.body === 'before the outage', 30_000);
      expect(await statusOf(`${instance.url}/ready`)).toBe(200);

      // --- The outage -------------------------------------------------------
      await db.stop();
      const outageStarted = Date.now();
      const problems: string[] = [];
      /** The slowest answer of each kind during the outage, for the log. */
      const slowest = new Map<string, number>();
      const timed = (what: string, ms: number) => slowest.set(what, Math.max(ms, slowest.get(what) ?? 0));
      const record = (what: string, found: string[]) => problems.push(...found.map((problem) => `${what}: ${problem}`));
      const notReadyAfter = await eventually(
        async () => (await statusOf(`${instance.url}/ready`)) === 503,
        '/ready to answer 503 once MariaDB is down',
        FAIL_FAST_MS,
      );

      /** One round of everything a client does, each of which must fail fast and masked. */
      const probe = async (round: number) => {
        const expectMasked = async (what: string, request: () => Promise<Answer>) => {
          try {
            const answer = await request();
            timed(what, answer.ms);
            record(`${what} (${answer.ms} ms)`, maskedErrorProblems(answer));
          } catch (error) {
            record(what, [(error as Error).message]);
          }
        };
        await Promise.all([
          expectMasked('me', () => timedGql(url, '{ me { id username } }', {}, alice.token)),
          expectMasked('history', () => timedGql(url, HISTORY, { id: direct }, bob.token)),
          expectMasked('conversations', () =>
            timedGql(url, '{ conversations { edges { node { id } } } }', {}, bob.token),
          ),
          expectMasked('sendMessage', () =>
            timedGql(
              url,
              SEND,
              { input: { conversationId: direct, body: `during ${round}`, clientMessageId: `outage-${round}` } },
              alice.token,
            ),
          ),
          expectMasked('signUp', () =>
            timedGql(url, SIGN_UP, { input: { username: uniqueName('during'), password: 'correct horse battery' } }),
          ),
          expectMasked('logIn', () =>
            timedGql(url, LOG_IN, { input: { username: alice.username, password: 'correct horse battery' } }),
          ),
          (async () => {
            const ready = await statusOf(`${instance.url}/ready`, FAIL_FAST_MS);
            if (ready !== 503) problems.push(`/ready answered ${ready} during the outage (round ${round})`);
          })(),
          (async () => {
            const health = await statusOf(`${instance.url}/health`, FAIL_FAST_MS);
            if (health !== 200) problems.push(`/health answered ${health} during the outage (round ${round})`);
          })(),
          (async () => {
            try {
              const attempt = await subscriptionAttempt(url, bob.token, direct);
              timed(`subscription attempt (closed ${attempt.closeCode})`, attempt.ms);
              record(`subscription attempt (round ${round})`, attemptProblems(attempt));
            } catch (error) {
              problems.push((error as Error).message);
            }
          })(),
        ]);
      };
      let rounds = 0;
      while (Date.now() - outageStarted < OUTAGE_MS) {
        await probe(++rounds);
        await sleep(1_000);
      }
      expect(instance.process.exitCode, `the server process died during the outage:\n${instance.output()}`).toBeNull();
      console.info(
        `[outage] /ready said 503 after ${notReadyAfter} ms; ${rounds} rounds of probes in ${Date.now() - outageStarted} ms; ` +
          `slowest answers: ${[...slowest].map(([what, ms]) => `${what} ${ms} ms`).join(', ')}`,
      );
      // Every distinct problem once, with how often it happened.
      const counts = new Map<string, number>();
      for (const problem of problems) {
        const shape = problem.replace(/\d+ ms|round \d+/g, '…');
        counts.set(shape, (counts.get(shape) ?? 0) + 1);
      }
      const counted = [...counts].map(([problem, count]) => `${count}× ${problem}`);
      // Soft: the recovery below is checked (and reported) whatever happened during the outage.
      expect.soft(counted).toEqual([]);

      // --- MariaDB is back ------------------------------------------------------
      await db.start();
      const restarted = Date.now();
      const readyAfter = await eventually(
        async () => (await statusOf(`${instance.url}/ready`)) === 200,
        '/ready to answer 200 once MariaDB is back',
        RECOVERY_MS,
        250,
      );
      // The first sign-up may race the pool's reconnection; within the bound it must work.
      let carol: TestUser | undefined;
      await eventually(
        async () => {
          const answer = await timedGql(url, SIGN_UP, {
            input: { username: uniqueName('carol'), password: 'correct horse battery' },
          });
          if (answer.body?.data?.signUp)
            carol = { id: answer.body.data.signUp.user.id, username: '', token: answer.body.data.signUp.token };
          return carol !== undefined;
        },
        'a sign-up to succeed after MariaDB came back',
        RECOVERY_MS - (Date.now() - restarted),
        500,
      );
      console.info(
        `[outage] ready ${readyAfter} ms and signing up ${Date.now() - restarted} ms after MariaDB was back`,
      );
      // From here on every call must succeed the first time.
      expect(instance.process.pid).toBe(pid);
      expect(instance.process.exitCode).toBeNull();
      const after = await send(url, alice, direct, 'after the outage', 'after-1');
      expect(after.body).toBe('after the outage');
      const me = await data(url, '{ me { id } }', {}, carol!.token);
      expect(me.me.id).toBe(carol!.id);
      const logIn = await data(url, LOG_IN, { input: { username: alice.username, password: 'correct horse battery' } });
      expect(logIn.logIn.token).toEqual(expect.any(String));
      // Nothing sent during the outage was stored, and nothing from before it is lost.
      expect((await readHistory(url, bob, direct)).map((message) => message.body)).toEqual([
        'before the outage',
        'after the outage',
      ]);

      // A fresh subscription delivers again.
      const fresh = connect(url, bob.token);
      openClients.push(fresh);
      const freshCursor = (await data(url, EVENT_CURSOR, { id: direct }, bob.token)).messages.eventCursor;
      const freshEvents = subscribe<{ messageEvents: MessageEvent }>(fresh, MESSAGE_EVENTS, {
        conversationId: direct,
        after: freshCursor,
      });
      await send(url, alice, direct, 'to the fresh subscriber');
      await freshEvents.waitUntil((event) => event.messageEvents.message.body === 'to the fresh subscriber', 30_000);
      expect(freshEvents.errors).toEqual([]);

      // The subscription that lived through the outage either kept going or ended;
      // either way, resuming from its last cursor gives exactly what it missed.
      let seen = live.events.map((event) => event.messageEvents);
      if (!live.done) {
        await live
          .waitUntil((event) => event.messageEvents.message.body === 'to the fresh subscriber', 30_000)
          .catch(() => undefined);
        seen = live.events.map((event) => event.messageEvents);
      }
      if (live.done || !seen.some((event) => event.message.body === 'to the fresh subscriber')) {
        const resumed = connect(url, bob.token);
        openClients.push(resumed);
        const rest = subscribe<{ messageEvents: MessageEvent }>(resumed, MESSAGE_EVENTS, {
          conversationId: direct,
          after: seen.at(-1)!.cursor,
        });
        await send(url, alice, direct, 'fence');
        await rest.waitUntil((event) => event.messageEvents.message.body === 'fence', 30_000);
        seen = [...seen, ...rest.events.map((event) => event.messageEvents)].filter(
          (event) => event.message.body !== 'fence',
        );
        console.info(
          `[outage] the subscription that lived through the outage ${live.done ? 'ended' : 'stalled'}: ${JSON.stringify(live.errors).slice(0, 200)}`,
        );
      } else console.info('[outage] the subscription that lived through the outage kept delivering');
      expect(seen.map((event) => event.message.body)).toEqual([
        'before the outage',
        'after the outage',
        'to the fresh subscriber',
      ]);
    },
  );
});
