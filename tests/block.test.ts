// Blocking (issue #15): the blocked user cannot send, react or type in the
// DIRECT conversation with the blocker (FORBIDDEN), cannot open it anew, sees
// the blocker offline; groups are unaffected; unblocking restores it.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGroup, data, errorCode, gql, openDirect, send, signUp } from './helpers/client.js';
import { type Pair, startPair } from './helpers/pair.js';
import { SET_UPS } from './helpers/server.js';
import { sockets, subscribe, untilLive } from './helpers/ws.js';

const BLOCK = 'mutation ($u: ID!) { blockUser(userId: $u) { id blockedByMe } }';
const UNBLOCK = 'mutation ($u: ID!) { unblockUser(userId: $u) { id blockedByMe } }';
const SEND = 'mutation ($input: SendMessageInput!) { sendMessage(input: $input) { id } }';
const OPEN = 'mutation ($u: ID!) { openDirectConversation(userId: $u) { id } }';
const REACT = 'mutation ($m: ID!) { addReaction(messageId: $m, emoji: "👍") { id } }';
const TYPING = 'mutation ($c: ID!) { setTyping(conversationId: $c, typing: true) }';
const USER = 'query ($id: ID!) { user(id: $id) { online blockedByMe } }';
const PRESENCE = 'subscription { presence { online user { id } } }';

describe.each(SET_UPS)('blocking on $name', (setUp) => {
  let pair: Pair;
  let a: string;
  let b: string;
  const { openSocket, socketClient, closeAll } = sockets();

  beforeAll(async () => {
    pair = await startPair(setUp);
    a = pair.a.graphqlUrl;
    b = pair.b.graphqlUrl;
  });
  afterAll(() => pair.stop());
  afterEach(() => closeAll());

  it('refuses the blocked user in the DIRECT conversation only, and unblocking restores it', async () => {
    const [blocker, blocked, third] = [await signUp(a), await signUp(a), await signUp(a)];
    const directId = await openDirect(a, blocker, blocked);
    const groupId = await createGroup(a, blocker, [blocked, third]);
    const mine = await send(a, blocker, directId, 'before');
    expect((await data(a, BLOCK, { u: blocked.id }, blocker.token)).blockUser.blockedByMe).toBe(true);
    expect((await data(a, USER, { id: blocked.id }, blocker.token)).user.blockedByMe).toBe(true);
    expect((await data(a, USER, { id: blocker.id }, blocked.token)).user.blockedByMe).toBe(false);

    const input = { conversationId: directId, body: 'hello?' };
    expect(errorCode(await gql(b, SEND, { input }, blocked.token))).toBe('FORBIDDEN');
    expect(errorCode(await gql(b, REACT, { m: mine.id }, blocked.token))).toBe('FORBIDDEN');
    expect(errorCode(await gql(b, TYPING, { c: directId }, blocked.token))).toBe('FORBIDDEN');
    expect(errorCode(await gql(b, OPEN, { u: blocker.id }, blocked.token))).toBe('FORBIDDEN');
    // The blocker still can; groups are unaffected.
    await send(a, blocker, directId, 'from the blocker');
    await send(a, blocked, groupId, 'in the group');
    const history = await data(
      a,
      'query ($id: ID!) { messages(conversationId: $id, last: 10) { edges { node { body } } } }',
      { id: directId },
      blocker.token,
    );
    expect(history.messages.edges.map((edge: any) => edge.node.body)).toEqual(['before', 'from the blocker']);

    expect((await data(a, UNBLOCK, { u: blocked.id }, blocker.token)).unblockUser.blockedByMe).toBe(false);
    expect(errorCode(await gql(b, SEND, { input }, blocked.token))).toBeUndefined();
    expect(errorCode(await gql(b, OPEN, { u: blocker.id }, blocked.token))).toBeUndefined();
    // Blocking oneself, or nobody.
    expect(errorCode(await gql(a, BLOCK, { u: blocker.id }, blocker.token))).toBe('BAD_USER_INPUT');
    expect(errorCode(await gql(a, BLOCK, { u: 'VXNlcjo5OTk5OTk=' }, blocker.token))).toBe('NOT_FOUND');
  });

  it('shows the blocker offline to the blocked user, at once on the other instance', async () => {
    const [blocker, blocked] = [await signUp(a), await signUp(a)];
    await openDirect(a, blocker, blocked);
    const presence = subscribe(socketClient(b, blocked.token), PRESENCE);
    await untilLive(presence, async () => {
      const socket = await openSocket(a, blocker);
      await socket.close();
    });
    await openSocket(a, blocker);
    await presence.waitUntil((e) => e.presence.user.id === blocker.id && e.presence.online);
    expect((await data(b, USER, { id: blocker.id }, blocked.token)).user.online).toBe(true);

    // Counted before blocking: the offline event may arrive before the mutation's own answer.
    const offline = presence.events.length;
    await data(a, BLOCK, { u: blocked.id }, blocker.token);
    await presence.waitFor(offline + 1);
    expect(presence.events[offline].presence).toEqual({ online: false, user: { id: blocker.id } });
    expect((await data(b, USER, { id: blocker.id }, blocked.token)).user.online).toBe(false);
    // The blocker sees the blocked user as before.
    await openSocket(b, blocked);
    expect((await data(a, USER, { id: blocked.id }, blocker.token)).user.online).toBe(true);
    await data(a, UNBLOCK, { u: blocked.id }, blocker.token);
    expect((await data(b, USER, { id: blocker.id }, blocked.token)).user.online).toBe(true);
  });
});
