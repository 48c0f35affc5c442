// A replay (messageEvents with `after`) reads the event log in batches for as
// long as its subscriber is there, and no longer: a subscription completed, or
// a socket closed, right after it started must not read the log to its end.
import { decodeGlobalID } from '@pothos/plugin-relay';
import { describe, expect, it } from 'vitest';
import { MessageEvent } from '../src/db/entities/index.js';
import { claimEventPosition } from '../src/db/eventLog.js';
import { EVENT_BATCH } from '../src/realtime/messageFeed.js';
import { eventCursor } from '../src/schema/eventCursor.js';
import { openDirect, send, signUp, uniqueName } from './helpers/client.js';
import { type DatabaseKind, startServer, type TestServer } from './helpers/server.js';
import { connect, rawSocket, subscribe } from './helpers/ws.js';

/** Batches the seeded log takes to replay. */
const BATCHES = 6;
const FROM_START = eventCursor(0);

const ONE_CONVERSATION = `subscription ($conversationId: ID, $after: String) {
  messageEvents(conversationId: $conversationId, after: $after) { cursor }
}`;

/** `count` EDITED events of one message, appended straight to the log (sending them one by one would take minutes). */
async function seedEvents(server: TestServer, conversationId: number, messageId: number, count: number): Promise<void> {
  await server.app.services.dataSource.transaction(async (manager) => {
    const last = await claimEventPosition(manager, count);
    const rows = Array.from({ length: count }, (_, index) => ({
      position: last - count + 1 + index,
      conversationId,
      messageId,
      kind: 'EDITED' as const,
      createdAt: new Date(),
    }));
    for (let start = 0; start < rows.length; start += 500)
      await manager.insert(MessageEvent, rows.slice(start, start + 500));
  });
}

/**
 * A replay's read of the log: the subscriber's visible events (joined with its
 * memberships) of one conversation. The feed reads without the join, and a
 * replay of all the viewer's conversations without the conversation.
 */
const isOneConversationReplayRead = (sql: string) => isReplayRead(sql) && /AND\W+event\W+conversationId\W+=/.test(sql);
const isReplayRead = (sql: string) => /message_events/.test(sql) && /INNER JOIN/i.test(sql);

describe.each<DatabaseKind>(['sqlite', 'mysql'])('replays on %s', (database) => {
  it('a replay stops when its subscription completes at once or its socket closes', { timeout: 120_000 }, async () => {
    const server = await startServer(database);
    try {
      const alice = await signUp(server.graphqlUrl, uniqueName('alice'));
      const bob = await signUp(server.graphqlUrl, uniqueName('bob'));
      const direct = await openDirect(server.graphqlUrl, alice, bob);
      const message = await send(server.graphqlUrl, alice, direct, 'edited many times');
      const total = BATCHES * EVENT_BATCH; // with the CREATED event: BATCHES full batches, then a short one
      await seedEvents(server, Number(decodeGlobalID(direct).id), Number(decodeGlobalID(message.id).id), total - 1);

      server.resetQueries();
      const subscribeFrame = (id: string) => ({
        id,
        type: 'subscribe',
        payload: { query: ONE_CONVERSATION, variables: { conversationId: direct, after: FROM_START } },
      });
      // Completed right after it was sent.
      const completing = await rawSocket(server.graphqlUrl);
      completing.send({ type: 'connection_init', payload: { authorization: `Bearer ${bob.token}` } });
      await new Promise((resolve) => completing.socket.once('message', resolve)); // connection_ack
      completing.send(subscribeFrame('completed'));
      completing.send({ id: 'completed', type: 'complete' });
      // Its socket closed right after it was sent.
      const closing = await rawSocket(server.graphqlUrl);
      closing.send({ type: 'connection_init', payload: { authorization: `Bearer ${bob.token}` } });
      await new Promise((resolve) => closing.socket.once('message', resolve));
      closing.send(subscribeFrame('closed'));
      closing.socket.close();

      // A replay that is consumed, of all of bob's conversations (another
      // query text), through to the end: an abandoned replay going on would
      // have read everything by then, as it waits for no consumer.
      const client = connect(server.graphqlUrl, bob.token);
      const whole = subscribe(client, ONE_CONVERSATION, { after: FROM_START });
      await whole.waitFor(total, 60_000);
      client.dispose();
      completing.socket.terminate();

      // Each abandoned replay read at most the batch in flight when it was
      // abandoned (and the one before, had its first read begun already);
      // reading on would take BATCHES + 1 reads each.
      const reads = server.queries.filter(isOneConversationReplayRead);
      expect(reads.length).toBeLessThanOrEqual(2 * 2);
      // The consumed replay's reads are seen: the filter above is no tautology.
      expect(server.queries.filter(isReplayRead).length - reads.length).toBe(BATCHES + 1);
    } finally {
      await server.stop();
    }
  });
});
