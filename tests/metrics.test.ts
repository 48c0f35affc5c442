// /metrics as an operator scrapes it: scraped while real clients chat, the
// counters move exactly as the traffic did (sends, deliveries, fan-outs,
// refusals), the gauges show the sockets and subscriptions open, health and
// feed lag; and it is served only where it should be (a port of its own, or
// the public port behind a token).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGroup, errorCode, gql, send, signUp, type TestUser, uniqueName } from './helpers/client.js';
import { sample } from './helpers/metrics.js';
import { SET_UPS, startServer, type TestServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';
import { type Collector, sockets, subscribe, untilLive } from './helpers/ws.js';

const MESSAGE_EVENTS = `subscription ($conversationId: ID) {
  messageEvents(conversationId: $conversationId) { kind message { body } }
}`;
const TYPING = `subscription ($conversationId: ID!) {
  typing(conversationId: $conversationId) { typing user { id } }
}`;
const SEND = 'mutation ($input: SendMessageInput!) { sendMessage(input: $input) { id } }';
const METRICS_TOKEN = 'metrics-token-for-the-tests';

async function scrape(url: string, token?: string): Promise<string> {
  const response = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.text();
}

const { socketClient, closeAll } = sockets();
afterEach(() => closeAll());

describe.each(SET_UPS)('metrics ($name)', ({ database, options }) => {
  let server: TestServer;
  let metricsUrl: string;
  beforeAll(async () => {
    server = await startServer(database, { ...options, env: { ...options.env, METRICS_PORT: '0' } });
    metricsUrl = server.app.metricsUrl()!;
  });
  afterAll(() => server?.stop());

  it('counts sends, deliveries and fan-outs as the traffic goes, scraped while it flows', async () => {
    const [alice, bob, carol] = await Promise.all(
      ['alice', 'bob', 'carol'].map((name) => signUp(server.graphqlUrl, uniqueName(name))),
    );
    const conversationId = await createGroup(server.graphqlUrl, alice!, [bob!, carol!], 'metrics');
    const subscribers: Collector[] = [];
    for (const user of [bob!, carol!]) {
      const client = socketClient(server.graphqlUrl, user.token);
      subscribers.push(subscribe(client, MESSAGE_EVENTS, { conversationId }));
    }
    const typingClient = socketClient(server.graphqlUrl, bob!.token);
    subscribe(typingClient, TYPING, { conversationId });
    // Both message subscriptions are live once each saw a message.
    for (const events of subscribers)
      await untilLive(events, () => send(server.graphqlUrl, alice!, conversationId, 'warm-up'));
    // A warm-up sent while the other subscription was not yet live can still be on its way: wait
    // for one more message on both, which the feed delivers after every warm-up (log order), so
    // no warm-up's delivery lands in the window counted below.
    await send(server.graphqlUrl, alice!, conversationId, 'counting starts');
    for (const events of subscribers) {
      await events.waitUntil((event) => event.messageEvents.message.body === 'counting starts');
    }
    await eventually(
      async () => sample(await scrape(metricsUrl), 'chat_active_subscriptions', { operation: 'typing' }) === 1,
      'the typing subscription counted',
    );

    const before = await scrape(metricsUrl);
    expect(sample(before, 'chat_open_sockets')).toBe(3);
    expect(sample(before, 'chat_active_subscriptions', { operation: 'messageEvents' })).toBe(2);
    const counter = (text: string, name: string, labels?: Record<string, string>) => sample(text, name, labels) ?? 0;

    // Scrapes run alongside the sends: every value seen never goes down.
    const SENDS = 40;
    const seen: number[] = [];
    let sending = true;
    const scraping = (async () => {
      while (sending) {
        seen.push(counter(await scrape(metricsUrl), 'chat_deliveries_total', { operation: 'messageEvents' }));
      }
    })();
    for (let index = 0; index < SENDS; index++) {
      await send(server.graphqlUrl, alice!, conversationId, `counted ${index}`);
    }
    for (const events of subscribers) {
      await events.waitUntil((event) => event.messageEvents.message.body === `counted ${SENDS - 1}`, 20_000);
    }
    sending = false;
    await scraping;
    expect(seen.length).toBeGreaterThan(1);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));

    const after = await scrape(metricsUrl);
    const moved = (name: string, labels?: Record<string, string>) =>
      counter(after, name, labels) - counter(before, name, labels);
    expect(moved('chat_send_duration_seconds_count', { outcome: 'ok' })).toBe(SENDS);
    expect(moved('chat_deliveries_total', { operation: 'messageEvents' })).toBe(SENDS * subscribers.length);
    expect(moved('chat_fanout_duration_seconds_count')).toBe(SENDS);
    expect(moved('chat_deliveries_total', { operation: 'typing' })).toBe(0);
    expect(counter(after, 'chat_send_duration_seconds_sum', { outcome: 'ok' })).toBeGreaterThan(0);
    expect(sample(after, 'chat_event_feed_lag')).toBe(0);
    expect(sample(after, 'chat_database_up')).toBe(1);
    expect(sample(after, 'chat_redis_up')).toBe(database === 'mysql' ? 1 : -1);
    // The harness starts servers with push off: no queue to measure.
    expect(sample(after, 'chat_push_queue_depth')).toBe(-1);
    expect(sample(after, 'chat_sends_awaiting_commit')).toBe(0);
    // Process and event-loop metrics come with prom-client's defaults.
    expect(sample(after, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(sample(after, 'nodejs_eventloop_lag_p99_seconds')).toBeGreaterThanOrEqual(0);

    // Sockets and subscriptions are counted down as they close.
    await closeAll();
    await eventually(async () => {
      const text = await scrape(metricsUrl);
      return (
        sample(text, 'chat_open_sockets') === 0 &&
        sample(text, 'chat_active_subscriptions', { operation: 'messageEvents' }) === 0 &&
        sample(text, 'chat_active_subscriptions', { operation: 'typing' }) === 0
      );
    }, 'sockets and subscriptions counted down');
  });

  it('is not on the public port when it has a port of its own', async () => {
    // Whatever the public port answers there (the web client's page, or a 404), it is not the metrics.
    const response = await fetch(`${server.url}/metrics`);
    expect(response.headers.get('content-type') ?? 'none').not.toMatch(/version=0\.0\.4/);
    expect(await response.text()).not.toContain('chat_open_sockets');
  });
});

describe('metrics on the public port, behind a token', () => {
  let server: TestServer;
  let alice: TestUser;
  beforeAll(async () => {
    server = await startServer('sqlite', {
      env: { METRICS_TOKEN, RATE_LIMIT_SEND_MESSAGE: '2,0.01' },
    });
    alice = await signUp(server.graphqlUrl, uniqueName('alice'));
  });
  afterAll(() => server?.stop());

  it('answers 401 without the token, and counts rate-limit refusals and failed sends with it', async () => {
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    const wrong = await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer not-the-token-at-all' } });
    expect(wrong.status).toBe(401);

    const bob = await signUp(server.graphqlUrl, uniqueName('bob'));
    const conversationId = await createGroup(server.graphqlUrl, alice, [bob], 'limits');
    const before = await scrape(`${server.url}/metrics`, METRICS_TOKEN);
    const outcomes = [];
    for (let index = 0; index < 5; index++) {
      outcomes.push(
        errorCode(await gql(server.graphqlUrl, SEND, { input: { conversationId, body: `m${index}` } }, alice.token)),
      );
    }
    expect(outcomes).toEqual([undefined, undefined, 'RATE_LIMITED', 'RATE_LIMITED', 'RATE_LIMITED']);
    const after = await scrape(`${server.url}/metrics`, METRICS_TOKEN);
    const moved = (name: string, labels: Record<string, string>) =>
      (sample(after, name, labels) ?? 0) - (sample(before, name, labels) ?? 0);
    expect(moved('chat_rate_limit_refusals_total', { action: 'sendMessage' })).toBe(3);
    expect(moved('chat_send_duration_seconds_count', { outcome: 'ok' })).toBe(2);
    expect(moved('chat_send_duration_seconds_count', { outcome: 'error' })).toBe(3);
  });
});
