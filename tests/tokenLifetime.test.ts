// A socket lives as long as its token, however long that is: a lifetime past
// setTimeout's 2^31-1 ms (about 24.8 days) must not close it at once.
import { afterEach, describe, expect, it } from 'vitest';
import { data, openDirect, send, signUp, uniqueName } from './helpers/client.js';
import { startServer, type TestServer } from './helpers/server.js';
import { connect, type Collector, subscribe } from './helpers/ws.js';

const MESSAGE_EVENTS = `subscription ($conversationId: ID, $after: String) {
  messageEvents(conversationId: $conversationId, after: $after) { message { body } }
}`;
const EVENT_CURSOR = 'query ($id: ID!) { messages(conversationId: $id, last: 1) { eventCursor } }';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  await Promise.allSettled(cleanups.splice(0).map(async (cleanup) => cleanup()));
});

/** A server with TOKEN_TTL `ttl`, two users in a DIRECT conversation, and bob subscribed to it over a socket. */
async function watching(ttl: string) {
  const server: TestServer = await startServer('sqlite', { env: { TOKEN_TTL: ttl } });
  cleanups.push(() => server.stop());
  const alice = await signUp(server.graphqlUrl, uniqueName('alice'));
  const bob = await signUp(server.graphqlUrl, uniqueName('bob'));
  const direct = await openDirect(server.graphqlUrl, alice, bob);
  const after = (await data(server.graphqlUrl, EVENT_CURSOR, { id: direct }, bob.token)).messages.eventCursor;
  const client = connect(server.graphqlUrl, bob.token);
  cleanups.push(() => client.dispose());
  const stream: Collector = subscribe(client, MESSAGE_EVENTS, { conversationId: direct, after });
  const sendFromAlice = (body: string) => send(server.graphqlUrl, alice, direct, body);
  return { stream, sendFromAlice };
}

/** Waits for the stream's `count`th event, failing at once, with the close code, if the socket closes first. */
async function delivered(stream: Collector, count: number): Promise<void> {
  const closed = stream.ended().then(
    () => {
      if (stream.events.length < count)
        throw new Error(`the socket closed (${closeCodes(stream).join()}) before event ${count}`);
    },
    () => undefined, // still open: waitFor decides
  );
  await Promise.race([stream.waitFor(count), closed]);
}

const bodies = (stream: Collector) => stream.events.map((event) => event.messageEvents.message.body);
const closeCodes = (stream: Collector) => stream.errors.map((error) => (error as { code?: number }).code);

describe('token lifetime on a socket', () => {
  it('with TOKEN_TTL=30d the socket stays open and keeps delivering', async () => {
    const { stream, sendFromAlice } = await watching('30d');
    await sendFromAlice('first');
    await delivered(stream, 1);
    // Each round trip below happens well after the socket opened.
    await sendFromAlice('second');
    await delivered(stream, 2);
    await sendFromAlice('third');
    await delivered(stream, 3);
    expect(bodies(stream)).toEqual(['first', 'second', 'third']);
    expect(stream.errors).toEqual([]);
    expect(stream.done).toBe(false);
  });

  it('a short TOKEN_TTL still closes the socket with 4403 when the token expires', async () => {
    const { stream, sendFromAlice } = await watching('2');
    await sendFromAlice('before expiry');
    await stream.waitFor(1);
    await stream.ended(10_000);
    expect(closeCodes(stream)).toEqual([4403]);
    expect(bodies(stream)).toEqual(['before expiry']);
  });
});
