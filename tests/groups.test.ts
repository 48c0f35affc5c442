// Running a group (issue #15): roles and every permission rule, allowed and
// refused; ownership passing on; renames and removals reaching members live on
// both instances, the removed member's streams stopping at once; read markers
// across instances.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGroup, data, errorCode, gql, openDirect, send, signUp, type TestUser } from './helpers/client.js';
import { type Pair, startPair } from './helpers/pair.js';
import { SET_UPS } from './helpers/server.js';
import { sleep } from './helpers/wait.js';
import { sockets, subscribe, untilLive } from './helpers/ws.js';

const ROLES = `query ($id: ID!) { conversation(id: $id) {
  title myRole memberships { role joinedAt lastReadMessageId user { id } }
} }`;
const RENAME = 'mutation ($c: ID!, $t: String!) { renameConversation(conversationId: $c, title: $t) { id title } }';
const REMOVE = 'mutation ($c: ID!, $u: ID!) { removeMember(conversationId: $c, userId: $u) { id members { id } } }';
const SET_ROLE = `mutation ($c: ID!, $u: ID!, $r: MemberRole!) {
  setMemberRole(conversationId: $c, userId: $u, role: $r) { id memberships { role user { id } } }
}`;
const LEAVE = 'mutation ($c: ID!) { leaveConversation(conversationId: $c) }';
const ADD = 'mutation ($c: ID!, $u: [ID!]!) { addMembers(conversationId: $c, userIds: $u) { id } }';
const MARK_READ = 'mutation ($c: ID!, $m: ID!) { markRead(conversationId: $c, messageId: $m) { id } }';
const CONVERSATION_EVENTS =
  'subscription { conversationEvents { kind conversationId conversation { title members { id } } } }';
const MESSAGE_EVENTS = `subscription ($c: ID) { messageEvents(conversationId: $c) { kind message { id body } } }`;
const READ_MARKERS = `subscription ($c: ID!) { readMarkers(conversationId: $c) { conversationId lastReadMessageId user { id } } }`;
const TYPING = 'subscription ($c: ID!) { typing(conversationId: $c) { typing user { id } } }';
const SET_TYPING = 'mutation ($c: ID!) { setTyping(conversationId: $c, typing: true) }';

describe.each(SET_UPS)('groups on $name', (setUp) => {
  let pair: Pair;
  let a: string;
  let b: string;
  const { socketClient, closeAll } = sockets();

  beforeAll(async () => {
    pair = await startPair(setUp);
    a = pair.a.graphqlUrl;
    b = pair.b.graphqlUrl;
  });
  afterAll(() => pair.stop());
  afterEach(() => closeAll());

  const users = (count: number) => Promise.all(Array.from({ length: count }, () => signUp(a)));
  const roles = async (conversationId: string, viewer: TestUser) =>
    (await data(a, ROLES, { id: conversationId }, viewer.token)).conversation;
  const roleOf = (conversation: any, user: TestUser) =>
    conversation.memberships.find((membership: any) => membership.user.id === user.id)?.role;

  it('makes the creator OWNER and the others MEMBER; a DIRECT conversation has two MEMBERs', async () => {
    const [owner, member, other] = await users(3);
    const groupId = await createGroup(a, owner!, [member!]);
    const group = await roles(groupId, member!);
    expect(group.myRole).toBe('MEMBER');
    // Both joined at the creation: in any order.
    expect(group.memberships.map((m: any) => [m.user.id, m.role]).sort()).toEqual(
      [
        [owner!.id, 'OWNER'],
        [member!.id, 'MEMBER'],
      ].sort(),
    );
    expect((await roles(groupId, owner!)).myRole).toBe('OWNER');
    const directId = await openDirect(a, owner!, other!);
    const direct = await roles(directId, other!);
    expect(direct.memberships.map((m: any) => m.role)).toEqual(['MEMBER', 'MEMBER']);
  });

  it('lets OWNER and ADMIN rename, add and remove, and refuses a MEMBER with FORBIDDEN', async () => {
    const [owner, admin, member, extra] = await users(4);
    const groupId = await createGroup(a, owner!, [admin!, member!]);
    await data(a, SET_ROLE, { c: groupId, u: admin!.id, r: 'ADMIN' }, owner!.token);

    expect(errorCode(await gql(a, RENAME, { c: groupId, t: 'By member' }, member!.token))).toBe('FORBIDDEN');
    expect(errorCode(await gql(a, ADD, { c: groupId, u: [extra!.id] }, member!.token))).toBe('FORBIDDEN');
    expect(errorCode(await gql(a, REMOVE, { c: groupId, u: admin!.id }, member!.token))).toBe('FORBIDDEN');
    expect((await roles(groupId, owner!)).title).toBe('A group');

    expect((await data(a, RENAME, { c: groupId, t: ' By admin ' }, admin!.token)).renameConversation.title).toBe(
      'By admin',
    );
    expect((await data(a, RENAME, { c: groupId, t: 'By owner' }, owner!.token)).renameConversation.title).toBe(
      'By owner',
    );
    expect(errorCode(await gql(a, RENAME, { c: groupId, t: '   ' }, owner!.token))).toBe('BAD_USER_INPUT');
    await data(a, ADD, { c: groupId, u: [extra!.id] }, admin!.token);
    const removed = await data(a, REMOVE, { c: groupId, u: extra!.id }, admin!.token);
    expect(removed.removeMember.members.map((m: any) => m.id)).not.toContain(extra!.id);
    // A non-member learns nothing: NOT_FOUND, as for a conversation that does not exist.
    expect(errorCode(await gql(a, RENAME, { c: groupId, t: 'Outsider' }, extra!.token))).toBe('NOT_FOUND');
    expect(errorCode(await gql(a, REMOVE, { c: groupId, u: member!.id }, extra!.token))).toBe('NOT_FOUND');
    // Removing someone who is not a member: NOT_FOUND.
    expect(errorCode(await gql(a, REMOVE, { c: groupId, u: extra!.id }, owner!.token))).toBe('NOT_FOUND');
  });

  it('never removes the OWNER and lets only the OWNER set roles (ADMIN or MEMBER)', async () => {
    const [owner, admin, member] = await users(3);
    const groupId = await createGroup(a, owner!, [admin!, member!]);
    expect(errorCode(await gql(a, SET_ROLE, { c: groupId, u: admin!.id, r: 'ADMIN' }, member!.token))).toBe(
      'FORBIDDEN',
    );
    await data(a, SET_ROLE, { c: groupId, u: admin!.id, r: 'ADMIN' }, owner!.token);
    expect(errorCode(await gql(a, SET_ROLE, { c: groupId, u: member!.id, r: 'ADMIN' }, admin!.token))).toBe(
      'FORBIDDEN',
    );
    expect(errorCode(await gql(a, REMOVE, { c: groupId, u: owner!.id }, admin!.token))).toBe('FORBIDDEN');
    expect(errorCode(await gql(a, SET_ROLE, { c: groupId, u: owner!.id, r: 'MEMBER' }, owner!.token))).toBe(
      'FORBIDDEN',
    );
    expect(errorCode(await gql(a, SET_ROLE, { c: groupId, u: member!.id, r: 'OWNER' }, owner!.token))).toBe(
      'BAD_USER_INPUT',
    );
    expect(errorCode(await gql(a, REMOVE, { c: groupId, u: owner!.id }, owner!.token))).toBe('BAD_USER_INPUT');
    const group = await roles(groupId, member!);
    expect([roleOf(group, owner!), roleOf(group, admin!), roleOf(group, member!)]).toEqual([
      'OWNER',
      'ADMIN',
      'MEMBER',
    ]);
    await data(a, SET_ROLE, { c: groupId, u: admin!.id, r: 'MEMBER' }, owner!.token);
    expect(roleOf(await roles(groupId, member!), admin!)).toBe('MEMBER');
  });

  it('refuses rename, removal and roles on a DIRECT conversation with FORBIDDEN', async () => {
    const [alice, bob] = await users(2);
    const directId = await openDirect(a, alice!, bob!);
    expect(errorCode(await gql(a, RENAME, { c: directId, t: 'Ours' }, alice!.token))).toBe('FORBIDDEN');
    expect(errorCode(await gql(a, REMOVE, { c: directId, u: bob!.id }, alice!.token))).toBe('FORBIDDEN');
    expect(errorCode(await gql(a, SET_ROLE, { c: directId, u: bob!.id, r: 'ADMIN' }, alice!.token))).toBe('FORBIDDEN');
  });

  it('passes ownership on leave to the longest-standing ADMIN, else the longest-standing member', async () => {
    const [owner, first, second, third] = await users(4);
    const groupId = await createGroup(a, owner!, [first!]);
    await data(a, ADD, { c: groupId, u: [second!.id] }, owner!.token);
    await data(a, ADD, { c: groupId, u: [third!.id] }, owner!.token);
    await data(a, SET_ROLE, { c: groupId, u: third!.id, r: 'ADMIN' }, owner!.token);
    await data(a, LEAVE, { c: groupId }, owner!.token);
    expect(roleOf(await roles(groupId, first!), third!)).toBe('OWNER');
    // No admin left: the longest-standing member.
    await data(a, LEAVE, { c: groupId }, third!.token);
    const group = await roles(groupId, first!);
    expect([roleOf(group, first!), roleOf(group, second!)]).toEqual(['OWNER', 'MEMBER']);
    expect(group.myRole).toBe('OWNER');
  });

  it('shows a rename to every member at once on the other instance (UPDATED with the new title)', async () => {
    const [owner, member] = await users(2);
    const groupId = await createGroup(a, owner!, [member!]);
    const events = subscribe(socketClient(b, member!.token), CONVERSATION_EVENTS);
    await untilLive(events, () => gql(a, RENAME, { c: groupId, t: `warm-up ${Math.random()}` }, owner!.token));
    await data(a, RENAME, { c: groupId, t: 'Renamed' }, owner!.token);
    const event = await events.waitUntil((e) => e.conversationEvents.conversation?.title === 'Renamed');
    expect(event.conversationEvents.kind).toBe('UPDATED');
  });

  it('sends REMOVED to the removed member and stops every stream of the group for them on both instances', async () => {
    const [owner, member, removed] = await users(3);
    const groupId = await createGroup(a, owner!, [member!, removed!]);
    const onA = socketClient(a, removed!.token);
    const onB = socketClient(b, removed!.token);
    const conversationEvents = subscribe(onB, CONVERSATION_EVENTS);
    const streams = [
      subscribe(onA, MESSAGE_EVENTS, { c: groupId }),
      subscribe(onB, MESSAGE_EVENTS, { c: groupId }),
      subscribe(onB, MESSAGE_EVENTS, {}),
    ];
    const typing = subscribe(onB, TYPING, { c: groupId });
    const markers = subscribe(onA, READ_MARKERS, { c: groupId });
    const memberEvents = subscribe(socketClient(b, member!.token), CONVERSATION_EVENTS);
    for (const stream of streams) await untilLive(stream, () => send(a, owner!, groupId, 'before'));
    await untilLive(conversationEvents, () => gql(a, RENAME, { c: groupId, t: `t ${Math.random()}` }, owner!.token));
    await untilLive(memberEvents, () => gql(a, RENAME, { c: groupId, t: `t ${Math.random()}` }, owner!.token));
    await untilLive(typing, () => gql(a, SET_TYPING, { c: groupId }, member!.token));
    const before = streams.map((stream) => stream.events.length);

    await data(a, REMOVE, { c: groupId, u: removed!.id }, owner!.token);
    // Straight after the removal commits: a message, typing and a read marker.
    const after = await send(a, owner!, groupId, 'after removal');
    await gql(a, SET_TYPING, { c: groupId }, owner!.token);
    await gql(a, MARK_READ, { c: groupId, m: after.id }, member!.token);

    const event = await conversationEvents.waitUntil((e) => e.conversationEvents.kind === 'REMOVED');
    expect(event.conversationEvents).toEqual({ kind: 'REMOVED', conversationId: groupId, conversation: null });
    const seenByMember = await memberEvents.waitUntil(
      (e) => e.conversationEvents.kind === 'UPDATED' && e.conversationEvents.conversation.members.length === 2,
    );
    expect(seenByMember.conversationEvents.conversation.members.map((m: any) => m.id)).not.toContain(removed!.id);
    // A later message to a conversation the removed member still has proves delivery goes on for them.
    const [other] = await users(1);
    const directId = await openDirect(a, other!, removed!);
    await send(a, other!, directId, 'still delivered');
    await streams[2]!.waitUntil((e) => e.messageEvents.message.body === 'still delivered');
    streams.forEach((stream, index) => {
      const late = stream.events.slice(before[index]).map((e) => e.messageEvents.message.body);
      expect(late, `stream ${index}`).not.toContain('after removal');
    });
    expect(typing.events.filter((e) => e.typing.user.id === owner!.id)).toEqual([]);
    expect(markers.events).toEqual([]);
    expect(errorCode(await gql(a, ROLES, { id: groupId }, removed!.token))).toBeUndefined();
    expect((await data(a, ROLES, { id: groupId }, removed!.token)).conversation).toBeNull();
  });

  it('delivers read markers of the others across instances, once per move, throttled per member', async () => {
    const [sender, reader, third] = await users(3);
    const groupId = await createGroup(a, sender!, [reader!, third!]);
    const markers = subscribe(socketClient(b, sender!.token), READ_MARKERS, { c: groupId });
    const messages = [];
    for (let index = 0; index < 4; index++) messages.push(await send(a, sender!, groupId, `m${index}`));
    await untilLive(markers, async () => {
      const next = await send(a, sender!, groupId, 'warm-up');
      messages.push(next);
      await gql(a, MARK_READ, { c: groupId, m: next.id }, third!.token);
    });
    const start = markers.events.length;
    // The sender's own marker is not delivered to them.
    await gql(a, MARK_READ, { c: groupId, m: messages.at(-1)!.id }, sender!.token);
    const last = await send(a, sender!, groupId, 'last');
    // Three quick moves by one member: the first at once, the newest after the throttle period.
    await gql(a, MARK_READ, { c: groupId, m: messages[0]!.id }, reader!.token);
    await gql(a, MARK_READ, { c: groupId, m: messages[1]!.id }, reader!.token);
    await gql(a, MARK_READ, { c: groupId, m: last.id }, reader!.token);
    // A move backwards is no move: nothing published.
    await gql(a, MARK_READ, { c: groupId, m: messages[0]!.id }, reader!.token);
    await markers.waitUntil((e) => e.readMarkers.lastReadMessageId === last.id);
    await sleep(1_500);
    const seen = markers.events.slice(start).map((e) => [e.readMarkers.user.id, e.readMarkers.lastReadMessageId]);
    expect(seen).toEqual([
      [reader!.id, messages[0]!.id],
      [reader!.id, last.id],
    ]);
    const group = await roles(groupId, sender!);
    expect(group.memberships.find((m: any) => m.user.id === reader!.id).lastReadMessageId).toBe(last.id);
  });
});
