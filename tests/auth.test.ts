import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, gql, signUp, uniqueName } from './helpers/client.js';
import { type DatabaseKind, startServer, type TestServer } from './helpers/server.js';

const SIGN_UP = 'mutation ($input: SignUpInput!) { signUp(input: $input) { token user { id username displayName } } }';
const LOG_IN = 'mutation ($input: LogInInput!) { logIn(input: $input) { token user { id username } } }';
const ME = '{ me { id username } }';

describe.each<DatabaseKind>(['mysql', 'sqlite'])('auth on %s', (database) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(database);
  });
  afterAll(() => server?.stop());

  it('signs up with a lower-cased username and the username as default display name', async () => {
    const name = uniqueName('MiXeD');
    const response = await gql(server.graphqlUrl, SIGN_UP, { input: { username: name, password: 'password123' } });
    expect(response.errors).toBeUndefined();
    expect(response.data.signUp.user.username).toBe(name.toLowerCase());
    expect(response.data.signUp.user.displayName).toBe(name.toLowerCase());
    const me = await gql(server.graphqlUrl, ME, {}, response.data.signUp.token);
    expect(me.data.me).toEqual({ id: response.data.signUp.user.id, username: name.toLowerCase() });
  });

  it('refuses a username taken in any letter case with CONFLICT', async () => {
    const name = uniqueName('taken');
    await signUp(server.graphqlUrl, name);
    const again = await gql(server.graphqlUrl, SIGN_UP, {
      input: { username: name.toUpperCase(), password: 'password123' },
    });
    expect(errorCode(again)).toBe('CONFLICT');
    expect(again.data).toBeNull();
  });

  it('logs in case-insensitively and answers wrong password and unknown user alike', async () => {
    const user = await signUp(server.graphqlUrl, uniqueName('login'), 'the right password');
    const ok = await gql(server.graphqlUrl, LOG_IN, {
      input: { username: user.username.toUpperCase(), password: 'the right password' },
    });
    expect(ok.data.logIn.user.id).toBe(user.id);

    const wrongPassword = await gql(server.graphqlUrl, LOG_IN, {
      input: { username: user.username, password: 'a wrong password' },
    });
    const unknownUser = await gql(server.graphqlUrl, LOG_IN, {
      input: { username: uniqueName('ghost'), password: 'the right password' },
    });
    expect(errorCode(wrongPassword)).toBe('UNAUTHENTICATED');
    expect(errorCode(unknownUser)).toBe('UNAUTHENTICATED');
    expect(wrongPassword.errors![0]!.message).toBe(unknownUser.errors![0]!.message);
  });

  it('me is null without a token or with a bad one, and protected fields say UNAUTHENTICATED', async () => {
    expect((await gql(server.graphqlUrl, ME)).data.me).toBeNull();
    expect((await gql(server.graphqlUrl, ME, {}, 'not-a-jwt')).data.me).toBeNull();
    const conversations = await gql(server.graphqlUrl, '{ conversations { edges { cursor } } }');
    expect(errorCode(conversations)).toBe('UNAUTHENTICATED');
  });

  it('rejects tokens with alg none, a wrong secret, a tampered payload or past expiry', async () => {
    const user = await signUp(server.graphqlUrl);
    const [header, payload, signature] = user.token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    const none = `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${payload}.`;
    const tampered = `${header}.${Buffer.from(JSON.stringify({ ...claims, sub: '999999' })).toString('base64url')}.${signature}`;
    const wrongSecret = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(claims.sub)
      .setIssuer(claims.iss)
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('another-secret-that-is-also-32-characters'));
    const expired = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(claims.sub)
      .setIssuer(claims.iss)
      .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
      .sign(new TextEncoder().encode('test-secret-that-is-at-least-32-characters-long'));
    for (const token of [none, tampered, wrongSecret, expired]) {
      expect((await gql(server.graphqlUrl, ME, {}, token)).data.me).toBeNull();
      expect(errorCode(await gql(server.graphqlUrl, '{ conversations { edges { cursor } } }', {}, token))).toBe(
        'UNAUTHENTICATED',
      );
    }
    expect((await gql(server.graphqlUrl, ME, {}, user.token)).data.me.id).toBe(user.id);
  });

  it('refuses a token once it expires, though it was accepted before', async () => {
    const user = await signUp(server.graphqlUrl);
    const claims = JSON.parse(Buffer.from(user.token.split('.')[1]!, 'base64url').toString());
    const expiresAt = Math.floor(Date.now() / 1000) + 2;
    const shortLived = await new SignJWT({ sid: claims.sid })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(claims.sub)
      .setIssuer(claims.iss)
      .setExpirationTime(expiresAt)
      .sign(new TextEncoder().encode('test-secret-that-is-at-least-32-characters-long'));
    expect((await gql(server.graphqlUrl, ME, {}, shortLived)).data.me.id).toBe(user.id);
    await new Promise((resolve) => setTimeout(resolve, expiresAt * 1000 - Date.now() + 50));
    expect((await gql(server.graphqlUrl, ME, {}, shortLived)).data.me).toBeNull();
  });

  it.each([
    ['username', { username: 'ab', password: 'password123' }],
    ['username', { username: 'has space', password: 'password123' }],
    ['username', { username: 'x'.repeat(33), password: 'password123' }],
    ['password', { username: uniqueName(), password: 'short' }],
    ['password', { username: uniqueName(), password: 'p'.repeat(257) }],
    ['displayName', { username: uniqueName(), password: 'password123', displayName: '   ' }],
    ['displayName', { username: uniqueName(), password: 'password123', displayName: 'd'.repeat(65) }],
  ])('rejects a bad %s with BAD_USER_INPUT naming it', async (field, input) => {
    const response = await gql(server.graphqlUrl, SIGN_UP, { input });
    expect(errorCode(response)).toBe('BAD_USER_INPUT');
    expect(response.errors![0]!.extensions!.field).toBe(field);
  });
});
