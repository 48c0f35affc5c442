// The attachments migration runs down and up again on both databases.
import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import { Attachment } from '../src/db/entities/index.js';
import { undoMigrationsThrough } from './helpers/migrations.js';
import { startServer } from './helpers/server.js';

describe.each(['sqlite', 'mysql'] as const)('the attachments migration on %s', (database) => {
  it('reverts (the table goes) and applies again', async () => {
    const server = await startServer(database);
    try {
      const dataSource = server.app.services.dataSource;
      const hasTable = async () => (await dataSource.createQueryRunner().hasTable('attachments')) as boolean;
      expect(await hasTable()).toBe(true);
      await undoMigrationsThrough(dataSource, 'Attachments1796000000000');
      expect(await hasTable()).toBe(false);
      await dataSource.runMigrations({ transaction: 'all' });
      expect(await hasTable()).toBe(true);
      expect(await dataSource.manager.count(Attachment)).toBe(0);
    } finally {
      await server.stop();
    }
  });
});
