import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { gql, signUp, uniqueName } from './helpers/client.js';
import { startServer, type TestServer } from './helpers/server.js';

describe('configuration', () => {
  it('defaults to SQLite on port 4000 with a development secret', () => {
    const config = loadConfig({});
    expect(config.port).toBe(4000);
    expect(config.database).toEqual({ kind: 'sqlite', path: './data/chat.sqlite' });
    expect(config.redisUrl).toBeUndefined();
    expect(config.tokenTtlSeconds).toBe(7 * 86400);
  });

  it('uses MySQL when DATABASE_URL is set', () => {
    expect(loadConfig({ DATABASE_URL: 'mysql://u:p@db:3306/chat' }).database).toEqual({
      kind: 'mysql',
      url: 'mysql://u:p@db:3306/chat',
    });
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ DATABASE_URL: 'postgres://db/chat' }, 'DATABASE_URL'],
    [{ REDIS_URL: 'localhost:6379' }, 'REDIS_URL'],
    [{ JWT_SECRET: 'short' }, 'JWT_SECRET'],
    [{ TOKEN_TTL: 'forever' }, 'TOKEN_TTL'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ NODE_ENV: 'production' }, 'JWT_SECRET'],
  ])('refuses %o with a message naming %s', (env, variable) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(new RegExp(`\\b${variable}\\b`));
  });

  it('reads token lifetimes in seconds, minutes, hours and days', () => {
    expect(loadConfig({ TOKEN_TTL: '90' }).tokenTtlSeconds).toBe(90);
    expect(loadConfig({ TOKEN_TTL: '15m' }).tokenTtlSeconds).toBe(900);
    expect(loadConfig({ TOKEN_TTL: '12h' }).tokenTtlSeconds).toBe(43200);
  });
});

describe('operations', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.stop().catch(() => undefined);
    server = undefined;
  });

  it('serves /health, /ready and GraphiQL on /graphql', async () => {
    server = await startServer('mysql');
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    expect((await fetch(`${server.url}/ready`)).status).toBe(200);
    const graphiql = await fetch(server.graphqlUrl, { headers: { accept: 'text/html' } });
    expect(graphiql.status).toBe(200);
    expect(await graphiql.text()).toContain('GraphiQL');
  });

  it('answers GraphQL requests with Server-Timing, unless turned off (as it is by default in production)', async () => {
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) }).serverTiming).toBe(false);
    const typename = (url: string) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
    server = await startServer('sqlite');
    const timed = await typename(server.graphqlUrl);
    expect(timed.headers.get('server-timing')).toMatch(/^total;dur=\d+\.\d{2}$/);
    await server.stop();
    server = await startServer('sqlite', { env: { SERVER_TIMING: 'false' } });
    const untimed = await typename(server.graphqlUrl);
    expect(untimed.status).toBe(200);
    expect(untimed.headers.get('server-timing')).toBeNull();
  });

  it('reports not ready and masks the failure when the database is gone', async () => {
    server = await startServer('sqlite');
    const user = await signUp(server.graphqlUrl);
    await server.app.services.dataSource.destroy();

    expect((await fetch(`${server.url}/ready`)).status).toBe(503);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    const response = await gql(server.graphqlUrl, '{ conversations { edges { cursor } } }', {}, user.token);
    expect(response.errors).toHaveLength(1);
    expect(response.errors![0]).toMatchObject({
      message: 'Unexpected error.',
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
    expect(JSON.stringify(response)).not.toMatch(/SELECT|sqlite|TypeORM|\.ts:|at /i);
  });

  it('never logs passwords or tokens', async () => {
    const logLines: string[] = [];
    server = await startServer('sqlite', { logLines });
    const password = 'a very secret password';
    const user = await signUp(server.graphqlUrl, uniqueName('logged'), password);
    await gql(server.graphqlUrl, 'mutation ($input: LogInInput!) { logIn(input: $input) { token } }', {
      input: { username: user.username, password },
    });
    await gql(server.graphqlUrl, '{ me { id } }', {}, user.token);
    await gql(server.graphqlUrl, '{ conversations { edges { cursor } } }', {}, user.token);
    await server.app.services.dataSource.destroy();
    await gql(server.graphqlUrl, '{ conversations { edges { cursor } } }', {}, user.token);

    expect(logLines.length).toBeGreaterThan(0);
    const log = logLines.join('');
    expect(log).not.toContain(password);
    expect(log).not.toContain(user.token);
    expect(log).not.toContain(user.token.split('.')[2]);
  });
});
