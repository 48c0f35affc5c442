// Database statements per send, for docs/scaling.md: counted on the server's
// own connection (every SQL statement TypeORM runs) on MariaDB with Redis,
// for sends one at a time and for sends arriving together (group commit),
// with one subscriber per member listening on this instance so the feed's
// reads are counted too. Run: tsx bench/statements-per-send.ts
import { createGroup, send, signUp, uniqueName } from '../tests/helpers/client.js';
import { startServer, TEST_REDIS_URL } from '../tests/helpers/server.js';
import { connect, subscribe } from '../tests/helpers/ws.js';

const MEMBERS = 10;
const server = await startServer('mysql', { env: { REDIS_URL: TEST_REDIS_URL } });
try {
  const users = await Promise.all(Array.from({ length: MEMBERS }, () => signUp(server.graphqlUrl, uniqueName('s'))));
  const group = await createGroup(server.graphqlUrl, users[0]!, users.slice(1), 'statements');
  const clients = users.map((user) => connect(server.graphqlUrl, user.token));
  const streams = clients.map((client) =>
    subscribe(client, 'subscription ($c: ID) { messageEvents(conversationId: $c) { message { id body } } }', {
      c: group,
    }),
  );
  // Live once every member saw a warm-up message.
  for (let attempt = 0; streams.some((stream) => stream.events.length === 0); attempt++) {
    await send(server.graphqlUrl, users[0]!, group, `warm-up ${attempt}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const settle = async (body: string) => {
    for (const stream of streams) await stream.waitUntil((event) => event.messageEvents.message.body === body, 20_000);
  };
  const measure = async (label: string, count: number, together: boolean) => {
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // the feed's poll has run
    server.resetQueries();
    const bodies = Array.from({ length: count }, (_, index) => `${label} ${index}`);
    if (together) {
      await Promise.all(bodies.map((body, index) => send(server.graphqlUrl, users[index % MEMBERS]!, group, body)));
    } else {
      for (const body of bodies) await send(server.graphqlUrl, users[0]!, group, body);
    }
    await Promise.all(bodies.map((body) => settle(body)));
    if (process.env.SHOW_STATEMENTS && !together) {
      const kinds = new Map<string, number>();
      for (const sql of server.queries) kinds.set(sql.slice(0, 70), (kinds.get(sql.slice(0, 70)) ?? 0) + 1);
      console.error([...kinds].map(([sql, n]) => `${(n / count).toFixed(2)}  ${sql}`).join('\n'));
    }
    const statements = server.queries.filter((sql) => !/^(START TRANSACTION|COMMIT|ROLLBACK)/i.test(sql)).length;
    const transactions = server.queries.filter((sql) => /^COMMIT/i.test(sql)).length;
    process.stdout.write(
      `| ${label} | ${count} | ${(statements / count).toFixed(2)} | ${(transactions / count).toFixed(2)} |\n`,
    );
  };
  process.stdout.write(
    `${MEMBERS} members subscribed on this instance (feed reads included; its 1 s poll too)\n\n| sends | count | statements per send | commits per send |\n| --- | --- | --- | --- |\n`,
  );
  await measure('one at a time', 50, false);
  await measure('50 together', 50, true);
  await measure('200 together', 200, true);
  await Promise.all(clients.map((client) => client.dispose()));
} finally {
  await server.stop();
}
