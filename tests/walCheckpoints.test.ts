// The embedded server's WAL checkpoints run on a worker thread
// (src/db/walCheckpoints.ts), not in the commits of the event loop: the
// database file takes in what was written, while the server's own connection
// never checkpoints, and stopping the server ends the worker.
import { statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGroup, data, signUp, uniqueName } from './helpers/client.js';
import { startServer, type TestServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

const SEND = 'mutation ($input: SendMessageInput!) { sendMessage(input: $input) { id } }';

describe('WAL checkpoints of the embedded database', () => {
  let server: TestServer;
  let path: string;
  beforeAll(async () => {
    server = await startServer('sqlite');
    const { database } = server.app.services.config;
    if (database.kind !== 'sqlite') throw new Error('expected SQLite');
    path = database.path;
  });
  afterAll(() => server?.stop());

  it('copies what the sends wrote into the database file, without the server connection checkpointing', async () => {
    const connection = (
      server.app.services.dataSource.driver as unknown as {
        databaseConnection: { pragma(sql: string, options: { simple: true }): unknown };
      }
    ).databaseConnection;
    expect(connection.pragma('wal_autocheckpoint', { simple: true })).toBe(0);

    const [alice, bob] = await Promise.all([
      signUp(server.graphqlUrl, uniqueName('wal')),
      signUp(server.graphqlUrl, uniqueName('wal')),
    ]);
    const group = await createGroup(server.graphqlUrl, alice!, [bob!], 'checkpoints');
    const before = statSync(path).size;
    // About 1 MB of bodies: far below the 1,000 pages (4 MB) at which a commit would checkpoint by itself.
    const body = 'x'.repeat(3_900);
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(
        Array.from({ length: 25 }, (_, index) =>
          data(
            server.graphqlUrl,
            SEND,
            { input: { conversationId: group, body: `${batch}.${index} ${body}` } },
            alice!.token,
          ),
        ),
      );
    }
    await eventually(() => statSync(path).size - before >= 900_000, 'the database file to take in the sends');
  });
});
