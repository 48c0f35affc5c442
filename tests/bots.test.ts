// Bot accounts and tokens (issue #14, contract part bots.graphql): creating,
// listing, rotating and deleting bots; a bot token works as a user token does
// on HTTP and WebSocket, on both instances, and stops working at once (its
// sockets close with 4403) when rotated or deleted; a bot acts only in
// conversations people put it in. On SQLite and on MySQL with Redis.
import { type Client, createClient } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { BotRow } from '../src/bots/entities.js';
import { decodeId } from '../src/schema/ids.js';
import {
  createGroup,
  data,
  errorCode,
  gql,
  openDirect,
  send,
  signUp,
  type TestUser,
  uniqueName,
} from './helpers/client.js';
import { type Pair, startPair } from './helpers/pair.js';
import { SET_UPS } from './helpers/server.js';
import { withTimeout } from './helpers/wait.js';
import { wsUrl } from './helpers/ws.js';

const CREATE_BOT = `mutation ($input: CreateBotInput!) {
  createBot(input: $input) { token webhookSecret bot { webhookUrl createdAt lastUsedAt user { id username displayName isBot } } }
}`;
const ROTATE = 'mutation ($id: ID!) { rotateBotToken(botId: $id) { token webhookSecret bot { user { id } } } }';
const DELETE = 'mutation ($id: ID!) { deleteBot(botId: $id) }';
const MY_BOTS = '{ myBots { webhookUrl createdAt lastUsedAt user { id username isBot } } }';
const ME = '{ me { id username isBot } }';
const LOG_IN = 'mutation ($input: LogInInput!) { logIn(input: $input) { token } }';
const MEMBERS = 'query ($id: ID!) { conversation(id: $id) { members { id } } }';
const ADD_MEMBERS = 'mutation ($c: ID!, $u: [ID!]!) { addMembers(conversationId: $c, userIds: $u) { id } }';
/** A revoked token's sockets close within this (sessions.test.ts holds sessions to the same). */
const CLOSE_WITHIN_MS = 2_000;

type Bot = TestUser & { webhookSecret: string | null };

async function createBot(url: string, owner: TestUser, input: Record<string, unknown> = {}): Promise<Bot> {
  const username = uniqueName('bot');
  const result = await data(url, CREATE_BOT, { input: { username, ...input } }, owner.token);
  const { token, webhookSecret, bot } = result.createBot;
  return { id: bot.user.id, username: bot.user.username, token, webhookSecret };
}

describe.each(SET_UPS)('bots on $name', (setUp) => {
  let pair: Pair;
  let a: string;
  let b: string;
  const clients: Client[] = [];

  beforeAll(async () => {
    pair = await startPair(setUp);
    a = pair.a.graphqlUrl;
    b = pair.b.graphqlUrl;
  });
  afterEach(async () => {
    await Promise.allSettled(clients.splice(0).map((client) => client.dispose()));
  });
  afterAll(() => pair?.stop());

  /** An acknowledged socket with the token, and the close code it ends with. */
  async function openSocket(url: string, token: string) {
    const client = createClient({
      url: wsUrl(url),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      lazy: false,
      retryAttempts: 0,
      onNonLazyError: () => undefined,
    });
    clients.push(client);
    const closed = new Promise<number>((resolve) => client.on('closed', (event: any) => resolve(event?.code)));
    await withTimeout(new Promise<void>((resolve) => client.on('connected', () => resolve())), 10_000, 'ConnectionAck');
    return { client, closed };
  }

  it('createBot makes a bot user owned by the caller; its token works on HTTP and WebSocket on every instance', async () => {
    const owner = await signUp(a);
    const username = uniqueName('Helper');
    const result = await data(a, CREATE_BOT, { input: { username, displayName: 'Helper Bot' } }, owner.token);
    const { token, webhookSecret, bot } = result.createBot;
    expect(bot.user).toMatchObject({ username: username.toLowerCase(), displayName: 'Helper Bot', isBot: true });
    expect(bot.webhookUrl).toBeNull();
    expect(webhookSecret).toBeNull();
    expect(bot.lastUsedAt).toBeNull();
    expect(token).toMatch(/^chatbot_[A-Za-z0-9_-]{43}$/);

    // Only its hash is stored.
    const row = await pair.a.app.services.dataSource.manager.findOneByOrFail(BotRow, {
      userId: decodeId('User', bot.user.id)!,
    });
    expect(JSON.stringify(row)).not.toContain(token.slice('chatbot_'.length));

    expect((await data(a, ME, {}, token)).me).toEqual({
      id: bot.user.id,
      username: username.toLowerCase(),
      isBot: true,
    });
    expect((await data(b, ME, {}, token)).me.id).toBe(bot.user.id);
    await openSocket(b, token);

    const listed = (await data(a, MY_BOTS, {}, owner.token)).myBots;
    expect(listed).toHaveLength(1);
    expect(listed[0].user.id).toBe(bot.user.id);
    expect(listed[0].lastUsedAt).not.toBeNull(); // recorded by the uses above
    // Another user's list does not show it.
    expect((await data(a, MY_BOTS, {}, (await signUp(a)).token)).myBots).toEqual([]);
  });

  it('logIn as a bot fails exactly like a wrong password', async () => {
    const owner = await signUp(a);
    const bot = await createBot(a, owner);
    const asBot = await gql(a, LOG_IN, { input: { username: bot.username, password: 'anything at all' } });
    const wrong = await gql(a, LOG_IN, { input: { username: owner.username, password: 'not the password' } });
    expect(errorCode(asBot)).toBe('UNAUTHENTICATED');
    expect(asBot.errors![0]!.message).toBe(wrong.errors![0]!.message);
  });

  it('createBot refuses bad input, a taken username, and bots', async () => {
    const owner = await signUp(a);
    expect(errorCode(await gql(a, CREATE_BOT, { input: { username: 'no spaces' } }, owner.token))).toBe(
      'BAD_USER_INPUT',
    );
    expect(errorCode(await gql(a, CREATE_BOT, { input: { username: owner.username } }, owner.token))).toBe('CONFLICT');
    const badUrl = await gql(
      a,
      CREATE_BOT,
      { input: { username: uniqueName('bot'), webhookUrl: 'ftp://example.com/hook' } },
      owner.token,
    );
    expect(errorCode(badUrl)).toBe('BAD_USER_INPUT');
    expect(badUrl.errors![0]!.extensions!.field).toBe('webhookUrl');
    const bot = await createBot(a, owner);
    expect(errorCode(await gql(a, CREATE_BOT, { input: { username: uniqueName('bot') } }, bot.token))).toBe(
      'FORBIDDEN',
    );
  });

  it('a bot acts only in conversations people put it in: a group it was added to, a DIRECT conversation opened with it', async () => {
    const owner = await signUp(a);
    const friend = await signUp(a);
    const bot = await createBot(a, owner);
    const group = await createGroup(a, owner, [friend], 'Team');
    // Not a member: as for anyone, the conversation does not exist for it.
    expect(
      errorCode(
        await gql(
          a,
          'mutation ($input: SendMessageInput!) { sendMessage(input: $input) { id } }',
          {
            input: { conversationId: group, body: 'hello?' },
          },
          bot.token,
        ),
      ),
    ).toBe('NOT_FOUND');
    // It opens and creates nothing itself.
    const openWith = await gql(
      a,
      'mutation ($u: ID!) { openDirectConversation(userId: $u) { id } }',
      { u: friend.id },
      bot.token,
    );
    expect(errorCode(openWith)).toBe('FORBIDDEN');
    const groupOf = await gql(
      a,
      'mutation ($input: CreateGroupInput!) { createGroupConversation(input: $input) { id } }',
      { input: { title: 'Spam', memberIds: [friend.id] } },
      bot.token,
    );
    expect(errorCode(groupOf)).toBe('FORBIDDEN');

    await data(a, ADD_MEMBERS, { c: group, u: [bot.id] }, owner.token);
    expect((await send(b, bot, group, 'Hello, team')).body).toBe('Hello, team');
    const direct = await openDirect(a, friend, bot);
    expect((await send(a, bot, direct, 'Hello, friend')).body).toBe('Hello, friend');
    const sender = await data(
      a,
      'query ($id: ID!) { messages(conversationId: $id, last: 1) { edges { node { sender { id isBot } } } } }',
      { id: direct },
      friend.token,
    );
    expect(sender.messages.edges[0].node.sender).toEqual({ id: bot.id, isBot: true });
  });

  it('rotateBotToken: owner only; the old token stops at once on every instance and its sockets close with 4403', async () => {
    const owner = await signUp(a);
    const stranger = await signUp(a);
    const bot = await createBot(a, owner, { webhookUrl: 'http://93.184.215.14/hook' });
    expect(bot.webhookSecret).toMatch(/^[0-9a-f]{64}$/);
    // Anyone else, the bot itself included, is told there is no such bot.
    expect(errorCode(await gql(a, ROTATE, { id: bot.id }, stranger.token))).toBe('NOT_FOUND');
    expect(errorCode(await gql(a, ROTATE, { id: bot.id }, bot.token))).toBe('NOT_FOUND');
    expect(errorCode(await gql(a, ROTATE, { id: owner.id }, owner.token))).toBe('NOT_FOUND');

    const onA = await openSocket(a, bot.token);
    const onB = await openSocket(b, bot.token);
    const rotated = (await data(a, ROTATE, { id: bot.id }, owner.token)).rotateBotToken;
    expect(rotated.token).not.toBe(bot.token);
    expect(rotated.webhookSecret).toMatch(/^[0-9a-f]{64}$/);
    expect(rotated.webhookSecret).not.toBe(bot.webhookSecret);
    expect(await withTimeout(onA.closed, CLOSE_WITHIN_MS, 'the socket on a to close')).toBe(4403);
    expect(await withTimeout(onB.closed, CLOSE_WITHIN_MS, 'the socket on b to close')).toBe(4403);
    expect((await gql(a, ME, {}, bot.token)).data!.me).toBeNull();
    expect((await gql(b, ME, {}, bot.token)).data!.me).toBeNull();
    expect((await data(b, ME, {}, rotated.token)).me.id).toBe(bot.id);
    await openSocket(a, rotated.token);
  });

  it('deleteBot: owner only; its token stops, its sockets close, it leaves its groups, its messages stay', async () => {
    const owner = await signUp(a);
    const friend = await signUp(a);
    const bot = await createBot(a, owner);
    const group = await createGroup(a, owner, [friend, bot], 'Team');
    const said = await send(a, bot, group, 'I was here');
    expect(errorCode(await gql(a, DELETE, { id: bot.id }, friend.token))).toBe('NOT_FOUND');

    const socket = await openSocket(b, bot.token);
    expect((await data(a, DELETE, { id: bot.id }, owner.token)).deleteBot).toBe(true);
    expect(await withTimeout(socket.closed, CLOSE_WITHIN_MS, 'the socket to close')).toBe(4403);
    expect((await gql(a, ME, {}, bot.token)).data!.me).toBeNull();
    expect((await gql(b, ME, {}, bot.token)).data!.me).toBeNull();
    expect((await data(a, MY_BOTS, {}, owner.token)).myBots).toEqual([]);
    const members = (await data(a, MEMBERS, { id: group }, friend.token)).conversation.members.map((m: any) => m.id);
    expect(members.sort()).toEqual([owner.id, friend.id].sort());
    const history = await data(
      a,
      'query ($id: ID!) { messages(conversationId: $id, first: 10) { edges { node { id body sender { id isBot } } } } }',
      { id: group },
      friend.token,
    );
    expect(history.messages.edges.map((edge: any) => edge.node)).toEqual([
      { id: said.id, body: 'I was here', sender: { id: bot.id, isBot: true } },
    ]);
    // Gone for good: deleting or rotating again finds nothing; its username stays reserved.
    expect(errorCode(await gql(a, DELETE, { id: bot.id }, owner.token))).toBe('NOT_FOUND');
    expect(errorCode(await gql(a, ROTATE, { id: bot.id }, owner.token))).toBe('NOT_FOUND');
    expect(errorCode(await gql(a, CREATE_BOT, { input: { username: bot.username } }, owner.token))).toBe('CONFLICT');
  });

  it('the bot mutations and myBots are UNAUTHENTICATED without a token', async () => {
    const owner = await signUp(a);
    const bot = await createBot(a, owner);
    expect(errorCode(await gql(a, CREATE_BOT, { input: { username: uniqueName('bot') } }))).toBe('UNAUTHENTICATED');
    expect(errorCode(await gql(a, ROTATE, { id: bot.id }))).toBe('UNAUTHENTICATED');
    expect(errorCode(await gql(a, DELETE, { id: bot.id }))).toBe('UNAUTHENTICATED');
    expect(errorCode(await gql(a, MY_BOTS))).toBe('UNAUTHENTICATED');
    expect(errorCode(await gql(a, MY_BOTS, {}, 'chatbot_notARealTokenAtAllxxxxxxxxxxxxxxxxxxxxxxxxxxxx'))).toBe(
      'UNAUTHENTICATED',
    );
  });
});
