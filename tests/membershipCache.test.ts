// The membership cache under many subscribers: one membership change costs a
// bounded number of queries per instance, however many `conversationEvents`
// subscribers it has (concurrent misses share one load), and still reaches
// exactly the subscribers it concerns. On SQLite with in-process pub/sub and
// on MySQL with Redis fan-out.
import { decodeGlobalID } from '@pothos/plugin-relay';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGroup, data, signUp, type TestUser, uniqueName } from './helpers/client.js';
import { SET_UPS, seedUsers, startServer, type TestServer } from './helpers/server.js';
import { type Collector, connect, subscribe } from './helpers/ws.js';

const SUBSCRIBERS = 40;
const CONVERSATION_EVENTS = 'subscription { conversationEvents { kind conversationId } }';
const ADD_MEMBERS =
  'mutation ($id: ID!, $userIds: [ID!]!) { addMembers(conversationId: $id, userIds: $userIds) { id } }';

type ConversationEvent = { kind: 'JOINED' | 'UPDATED' | 'LEFT'; conversationId: string };

/** The statement Memberships.membersOf runs: every member of a set of conversations, by conversation alone. */
const MEMBERS_LOAD =
  /FROM [`"]memberships[`"] [`"]Membership[`"] WHERE \(\([`"]Membership[`"]\.[`"]conversationId[`"] IN \(/;

describe.each(SET_UPS)('membership cache on $name', ({ database, options }) => {
  let server: TestServer;
  let url: string;
  let owner: TestUser;
  /** The subscribers' users (global IDs), each with a socket and a conversationEvents subscription. */
  let subscriberIds: string[];
  let clients: Client[] = [];
  let streams: Collector<{ conversationEvents: ConversationEvent }>[] = [];
  /** Index into each stream from which the current test reads. */
  let seen: number[] = [];

  beforeAll(async () => {
    server = await startServer(database, options);
    url = server.graphqlUrl;
    owner = await signUp(url, uniqueName('owner'));
    subscriberIds = await seedUsers(server, SUBSCRIBERS);
    const { tokens } = server.app.services;
    clients = await Promise.all(
      subscriberIds.map(async (id) => connect(url, await tokens.issue(Number(decodeGlobalID(id).id)))),
    );
    streams = clients.map((client) => subscribe(client, CONVERSATION_EVENTS));
    // graphql-ws does not confirm a subscription: a group of everyone, until every stream shows one.
    for (let attempt = 0; ; attempt++) {
      const groupId = await createGroup(
        url,
        owner,
        subscriberIds.map((id) => ({ id }) as TestUser),
        'everyone',
      );
      const live = await Promise.all(
        streams.map((stream) =>
          stream
            .waitUntil((event) => event.conversationEvents.conversationId === groupId, 1_000)
            .then(
              () => true,
              () => false,
            ),
        ),
      );
      if (live.every(Boolean)) break;
      if (attempt === 20) throw new Error('the subscriptions never became live');
    }
    seen = streams.map((stream) => stream.events.length);
  }, 120_000);

  afterAll(async () => {
    await Promise.allSettled(clients.map((client) => client.dispose()));
    await server?.stop();
  });

  /**
   * A change that concerns every subscriber (each JOINS a new group), awaited on every stream:
   * deliveries to one subscriber keep their order, so what came before it was decided by then.
   * Returns what each subscriber received since the last fence, the fence excluded.
   */
  async function fence(): Promise<ConversationEvent[][]> {
    const fenceId = await createGroup(
      url,
      owner,
      subscriberIds.map((id) => ({ id }) as TestUser),
      'fence',
    );
    await Promise.all(
      streams.map((stream) => stream.waitUntil((event) => event.conversationEvents.conversationId === fenceId)),
    );
    const received = streams.map((stream, index) =>
      stream.events.slice(seen[index]).map((event) => event.conversationEvents),
    );
    seen = streams.map((stream) => stream.events.length);
    for (const events of received) expect(events.at(-1)).toEqual({ kind: 'JOINED', conversationId: fenceId });
    return received.map((events) => events.slice(0, -1));
  }

  const membershipLoads = () => server.queries.filter((sql) => MEMBERS_LOAD.test(sql)).length;

  it(`a group that concerns none of ${SUBSCRIBERS} subscribers costs one membership load and reaches none`, async () => {
    const outsiders = await seedUsers(server, 2);
    server.resetQueries();
    await createGroup(
      url,
      owner,
      outsiders.map((id) => ({ id }) as TestUser),
      'elsewhere',
    );
    const received = await fence();

    expect(received).toEqual(subscriberIds.map(() => []));
    expect(membershipLoads()).toBe(1);
  });

  it('a group that concerns some reaches exactly those, with one membership load per change', async () => {
    const members = subscriberIds.slice(0, 5);
    const newcomer = subscriberIds[5]!;
    server.resetQueries();
    const groupId = await createGroup(
      url,
      owner,
      members.map((id) => ({ id }) as TestUser),
      'some',
    );
    await data(url, ADD_MEMBERS, { id: groupId, userIds: [newcomer] }, owner.token);
    const received = await fence();

    expect(received).toEqual(
      subscriberIds.map((id) => {
        if (members.includes(id)) {
          return [
            { kind: 'JOINED', conversationId: groupId },
            { kind: 'UPDATED', conversationId: groupId },
          ];
        }
        return id === newcomer ? [{ kind: 'JOINED', conversationId: groupId }] : [];
      }),
    );
    // Two changes (the group created, a member added), each checked by the subscribers it does not name.
    expect(membershipLoads()).toBe(2);
  });
});
