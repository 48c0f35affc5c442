// Revocable sessions (issue #15): logOut, logOutEverywhere and changePassword
// refuse the revoked tokens on the next request and close their sockets with
// 4403 within 2 s on both instances; checking costs no query per request;
// refreshToken over a socket keeps it and its subscriptions going past the old
// expiry; updateProfile reaches members; blocking.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { createGroup, data, errorCode, gql, openDirect, send, signUp, type TestUser } from './helpers/client.js';
import { type Pair, startPair } from './helpers/pair.js';
import { SET_UPS, type SetUp } from './helpers/server.js';
import { withTimeout } from './helpers/wait.js';
import { connect, subscribe, untilLive, wsUrl } from './helpers/ws.js';

const ME = '{ me { id displayName } }';
const LOG_OUT = 'mutation { logOut }';
const LOG_OUT_EVERYWHERE = 'mutation { logOutEverywhere }';
const CHANGE_PASSWORD = `mutation ($c: String!, $n: String!) {
  changePassword(currentPassword: $c, newPassword: $n) { token user { id } }
}`;
const LOG_IN = 'mutation ($input: LogInInput!) { logIn(input: $input) { token } }';
const REFRESH = 'mutation { refreshToken { token user { id } } }';
const MESSAGE_EVENTS = 'subscription ($c: ID) { messageEvents(conversationId: $c) { message { body } } }';
const CONVERSATION_EVENTS = 'subscription { conversationEvents { kind conversation { members { id displayName } } } }';
const PASSWORD = 'correct horse battery';

/** Revocation must close sockets this soon. */
const CLOSE_WITHIN_MS = 2_000;

/** An acknowledged socket of `token`, and a promise of its close code. */
async function openSocket(graphqlUrl: string, token: string, clients: Client[]) {
  const client = createClient({
    url: wsUrl(graphqlUrl),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    lazy: false,
    retryAttempts: 0,
    // The close is what the test awaits, not an error to print.
    onNonLazyError: () => undefined,
  });
  clients.push(client);
  const closed = new Promise<number>((resolve) => client.on('closed', (event: any) => resolve(event?.code)));
  await withTimeout(new Promise<void>((resolve) => client.on('connected', () => resolve())), 10_000, 'ConnectionAck');
  return { client, closed };
}

function suite(setUp: SetUp, env: Record<string, string>) {
  let pair: Pair;
  let a: string;
  let b: string;
  const clients: Client[] = [];

  beforeAll(async () => {
    pair = await startPair({ ...setUp, options: { ...setUp.options, env: { ...setUp.options.env, ...env } } });
    a = pair.a.graphqlUrl;
    b = pair.b.graphqlUrl;
  });
  afterAll(() => pair.stop());
  afterEach(async () => {
    await Promise.allSettled(clients.splice(0).map((client) => client.dispose()));
  });

  const logIn = async (user: TestUser) =>
    (await data(a, LOG_IN, { input: { username: user.username, password: PASSWORD } })).logIn.token as string;

  return {
    urls: () => ({ a, b }),
    pair: () => pair,
    clients,
    logIn,
  };
}

describe.each(SET_UPS)('sessions on $name', (setUp) => {
  const ctx = suite(setUp, { RATE_LIMIT_LOG_IN_PER_USERNAME: '4,0.01' });

  it('logOut refuses the token used at once and closes its sockets on both instances within 2 s, not the others', async () => {
    const { a, b } = ctx.urls();
    const user = await signUp(a);
    const other = await ctx.logIn(user);
    const onA = await openSocket(a, user.token, ctx.clients);
    const onB = await openSocket(b, user.token, ctx.clients);
    const otherSocket = await openSocket(b, other, ctx.clients);
    const started = Date.now();
    expect((await data(a, LOG_OUT, {}, user.token)).logOut).toBe(true);
    expect((await gql(a, ME, {}, user.token)).data.me).toBeNull();
    expect(errorCode(await gql(b, LOG_OUT, {}, user.token))).toBe('UNAUTHENTICATED');
    const codes = await withTimeout(Promise.all([onA.closed, onB.closed]), CLOSE_WITHIN_MS, 'sockets to close');
    expect(codes).toEqual([4403, 4403]);
    expect(Date.now() - started).toBeLessThan(CLOSE_WITHIN_MS + 500);
    // The other session goes on.
    expect((await data(b, ME, {}, other)).me.id).toBe(user.id);
    expect(await Promise.race([otherSocket.closed, new Promise((r) => setTimeout(() => r('open'), 300))])).toBe('open');
    // A new socket with the revoked token is refused.
    const refused = connect(a, user.token);
    ctx.clients.push(refused);
    const attempt = subscribe(refused, MESSAGE_EVENTS, {});
    await attempt.ended();
    expect(attempt.errors.map((error: any) => error.code)).toEqual([4403]);
  });

  it('logOutEverywhere ends every session of the caller on both instances within 2 s', async () => {
    const { a, b } = ctx.urls();
    const user = await signUp(a);
    const bystander = await signUp(a);
    const second = await ctx.logIn(user);
    const sockets = [
      await openSocket(a, user.token, ctx.clients),
      await openSocket(b, user.token, ctx.clients),
      await openSocket(b, second, ctx.clients),
    ];
    const unaffected = await openSocket(a, bystander.token, ctx.clients);
    await data(b, LOG_OUT_EVERYWHERE, {}, second);
    const codes = await withTimeout(
      Promise.all(sockets.map((socket) => socket.closed)),
      CLOSE_WITHIN_MS,
      'sockets to close',
    );
    expect(codes).toEqual([4403, 4403, 4403]);
    expect((await gql(a, ME, {}, user.token)).data.me).toBeNull();
    expect((await gql(b, ME, {}, second)).data.me).toBeNull();
    expect((await data(a, ME, {}, bystander.token)).me.id).toBe(bystander.id);
    expect(await Promise.race([unaffected.closed, new Promise((r) => setTimeout(() => r('open'), 300))])).toBe('open');
    // Logging in again starts a fresh session.
    expect((await data(a, ME, {}, await ctx.logIn(user))).me.id).toBe(user.id);
  });

  it('changePassword needs the current password, revokes every token but the new one, and is rate-limited', async () => {
    const { a, b } = ctx.urls();
    const user = await signUp(a);
    const socket = await openSocket(b, user.token, ctx.clients);
    const wrong = await gql(a, CHANGE_PASSWORD, { c: 'not the password', n: 'a new password' }, user.token);
    // UNAUTHENTICATED as the contract lists for a wrong password; the field tells it from a refused token.
    expect(errorCode(wrong)).toBe('UNAUTHENTICATED');
    expect(wrong.errors![0]!.extensions!.field).toBe('currentPassword');
    expect((await data(a, ME, {}, user.token)).me.id).toBe(user.id);
    expect(errorCode(await gql(a, CHANGE_PASSWORD, { c: PASSWORD, n: 'short' }, user.token))).toBe('BAD_USER_INPUT');
    const changed = await data(a, CHANGE_PASSWORD, { c: PASSWORD, n: 'a new password' }, user.token);
    expect(await withTimeout(socket.closed, CLOSE_WITHIN_MS, 'the socket to close')).toBe(4403);
    expect((await gql(a, ME, {}, user.token)).data.me).toBeNull();
    expect((await data(b, ME, {}, changed.changePassword.token)).me.id).toBe(user.id);
    expect(errorCode(await gql(a, LOG_IN, { input: { username: user.username, password: PASSWORD } }))).toBe(
      'UNAUTHENTICATED',
    );
    // Limited per username like logIn (4 here): guessing the password with a stolen token is slowed down.
    let response;
    for (let attempt = 0; attempt < 6; attempt++) {
      response = await gql(a, CHANGE_PASSWORD, { c: 'guess', n: 'whatever123' }, changed.changePassword.token);
      if (errorCode(response) === 'RATE_LIMITED') break;
    }
    expect(errorCode(response!)).toBe('RATE_LIMITED');
  });

  it('checks revocation without a database query per request', async () => {
    const { a } = ctx.urls();
    const server = ctx.pair().a;
    const user = await signUp(a);
    await data(a, ME, {}, user.token);
    server.resetQueries();
    for (let index = 0; index < 5; index++) await data(a, ME, {}, user.token);
    expect(server.queries.filter((sql) => /\bsessions\b/.test(sql))).toEqual([]);
    await data(a, LOG_OUT, {}, user.token);
    expect((await gql(a, ME, {}, user.token)).data.me).toBeNull();
  });

  it('updateProfile reaches the members of the caller’s conversations live on the other instance', async () => {
    const { a, b } = ctx.urls();
    const [alice, bob] = [await signUp(a), await signUp(a)];
    await createGroup(a, alice, [bob]);
    const events = subscribe(connectTracked(b, bob.token, ctx.clients), CONVERSATION_EVENTS);
    await untilLive(events, () => gql(a, 'mutation { updateProfile(displayName: "warm") { id } }', {}, alice.token));
    const updated = await data(
      a,
      'mutation { updateProfile(displayName: "  Alice A.  ") { displayName } }',
      {},
      alice.token,
    );
    expect(updated.updateProfile.displayName).toBe('Alice A.');
    await events.waitUntil((e) =>
      e.conversationEvents.conversation?.members.some((m: any) => m.id === alice.id && m.displayName === 'Alice A.'),
    );
    expect(errorCode(await gql(a, 'mutation { updateProfile(displayName: " ") { id } }', {}, alice.token))).toBe(
      'BAD_USER_INPUT',
    );
  });
});

function connectTracked(graphqlUrl: string, token: string, clients: Client[]): Client {
  const client = connect(graphqlUrl, token);
  clients.push(client);
  return client;
}

describe.each(SET_UPS)('token refresh over a socket on $name', (setUp) => {
  // Tokens of 5 s: the socket would close with 4403 after 5 s without a refresh.
  const ctx = suite(setUp, { TOKEN_TTL: '5' });

  it('keeps the socket and its subscription delivering past the old expiry, with no reconnect', async () => {
    const { a, b } = ctx.urls();
    const [alice, bob] = [await signUp(a), await signUp(a)];
    const conversationId = await openDirect(a, alice, bob);
    const { client, closed } = await openSocket(b, bob.token, ctx.clients);
    let connects = 0;
    client.on('connected', () => connects++);
    const events = subscribe(client, MESSAGE_EVENTS, { c: conversationId });
    await untilLive(events, () => send(a, alice, conversationId, 'warm-up'));
    // Refreshed over the same socket, ahead of the expiry.
    const firstExpiry = JSON.parse(Buffer.from(bob.token.split('.')[1]!, 'base64url').toString()).exp * 1000;
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const refreshed = await new Promise<any>((resolve, reject) => {
      const result: any[] = [];
      client.subscribe(
        { query: REFRESH },
        { next: (value) => result.push(value), error: reject, complete: () => resolve(result[0]) },
      );
    });
    expect(refreshed.data.refreshToken.user.id).toBe(bob.id);
    // Past the first token's expiry, the socket is still open and the subscription delivers.
    await new Promise((resolve) => setTimeout(resolve, firstExpiry - Date.now() + 500));
    // Alice's own short-lived token has expired meanwhile: she logs in again to send.
    await send(a, { ...alice, token: await ctx.logIn(alice) }, conversationId, 'after the old expiry');
    await events.waitUntil((e) => e.messageEvents.message.body === 'after the old expiry');
    expect(connects).toBe(0);
    expect(events.done).toBe(false);
    // Until the new token expires in turn.
    expect(await withTimeout(closed, 6_000, 'the socket to close at the new expiry')).toBe(4403);
  });

  it('over HTTP returns a token of the same session: logging out revokes both', async () => {
    const { a } = ctx.urls();
    const user = await signUp(a);
    const fresh = (await data(a, REFRESH, {}, user.token)).refreshToken.token;
    expect((await data(a, ME, {}, fresh)).me.id).toBe(user.id);
    await data(a, LOG_OUT, {}, fresh);
    expect((await gql(a, ME, {}, user.token)).data.me).toBeNull();
    expect((await gql(a, ME, {}, fresh)).data.me).toBeNull();
  });
});
