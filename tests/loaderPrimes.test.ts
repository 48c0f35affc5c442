// Loaders primed before anything used them (an event's execution primes five
// from what the feed read, and its selection uses two or three): the value
// reaches the loader when it is built, without a query, and a loader nothing
// uses is not built at all.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Loaders } from '../src/db/loaders.js';
import { User } from '../src/db/entities/index.js';
import { numericId, signUp, uniqueName } from './helpers/client.js';
import { startServer, type TestServer } from './helpers/server.js';

describe('Loaders.prime', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer('sqlite');
  });
  afterAll(() => server?.stop());

  const loadersFor = (viewerId: number) =>
    new Loaders(server.app.services.dataSource, { id: viewerId }, server.app.services.realtime.presence);
  const userReads = () => server.queries.filter((sql) => /FROM .users/.test(sql)).length;

  it('a value primed before the loader is built is what it loads, with no query; the first one primed stands', async () => {
    const alice = await signUp(server.graphqlUrl, uniqueName('lp'));
    const id = numericId(alice.id);
    const loaders = loadersFor(id);
    const primed = Object.assign(new User(), { id, username: 'primed' });
    loaders.prime('user', id, primed);
    loaders.prime('user', id, Object.assign(new User(), { id, username: 'second' }));
    loaders.prime('isMember', 42, true);
    server.resetQueries();
    expect(await loaders.user.load(id)).toBe(primed);
    expect(await loaders.isMember.load(42)).toBe(true);
    expect(userReads()).toBe(0);
    // Once built, a prime goes straight to the loader.
    loaders.prime('user', id + 1, primed);
    expect(await loaders.user.load(id + 1)).toBe(primed);
    expect(userReads()).toBe(0);
  });

  it('a release drops what was primed: the next load reads the database', async () => {
    const bob = await signUp(server.graphqlUrl, uniqueName('lp'));
    const id = numericId(bob.id);
    const loaders = loadersFor(id);
    loaders.prime('user', id, Object.assign(new User(), { id, username: 'stale' }));
    loaders.release();
    server.resetQueries();
    expect((await loaders.user.load(id))?.username).toBe(bob.username);
    expect(userReads()).toBe(1);
  });
});
