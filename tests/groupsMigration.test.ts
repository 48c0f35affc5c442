// The issue #15 migration runs down and up again on both databases, keeping
// the owner it gave an existing group.
import { describe, expect, it } from 'vitest';
import { createGroup, data, signUp } from './helpers/client.js';
import { undoMigrationsThrough } from './helpers/migrations.js';
import { startServer } from './helpers/server.js';

describe.each(['sqlite', 'mysql'] as const)('the GroupsAndSessions migration on %s', (database) => {
  it('goes down and up again, and makes the oldest member of a group its OWNER', async () => {
    const server = await startServer(database);
    try {
      const url = server.graphqlUrl;
      const [owner, member] = [await signUp(url), await signUp(url)];
      const groupId = await createGroup(url, owner, [member]);
      const { dataSource } = server.app.services;
      await undoMigrationsThrough(dataSource, 'GroupsAndSessions1796100000000');
      expect(await dataSource.query('SELECT COUNT(*) AS n FROM memberships')).toHaveLength(1);
      await expect(dataSource.query('SELECT role FROM memberships')).rejects.toThrow();
      await dataSource.runMigrations();
      const roles = await data(
        url,
        'query ($id: ID!) { conversation(id: $id) { memberships { role user { id } } } }',
        { id: groupId },
        // Sessions were dropped with the migration: a fresh login.
        (
          await data(url, 'mutation ($i: LogInInput!) { logIn(input: $i) { token } }', {
            i: { username: member.username, password: 'correct horse battery' },
          })
        ).logIn.token,
      );
      expect(roles.conversation.memberships.map((m: any) => [m.user.id, m.role])).toEqual([
        [owner.id, 'OWNER'],
        [member.id, 'MEMBER'],
      ]);
    } finally {
      await server.stop();
    }
  });
});
