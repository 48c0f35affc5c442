// Bot webhooks (issue #14, contract part bots.graphql) against a receiver on
// loopback that checks every signature: each message by a person reaches each
// bot member exactly once whichever instance took the send; the body and
// headers are the contract's; retries keep the delivery id and survive a
// restart; a reply is posted by the bot and arrives live; a hanging webhook
// holds back no other bot; SSRF targets are refused at creation and at
// delivery. On SQLite and on MySQL with Redis (two instances).
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { BotRow, WebhookDelivery } from '../src/bots/entities.js';
import { isPublicAddress, publicOnlyLookup } from '../src/bots/addresses.js';
import { MAX_WEBHOOK_ATTEMPTS, PER_BOT_CONCURRENCY } from '../src/bots/webhooks.js';
import { createLogger } from '../src/logger.js';
import { decodeId } from '../src/schema/ids.js';
import {
  createGroup,
  data,
  errorCode,
  gql,
  openDirect,
  readHistory,
  send,
  signUp,
  type TestUser,
  uniqueName,
} from './helpers/client.js';
import { type Pair, startPair } from './helpers/pair.js';
import { dropMysqlDatabase, SET_UPS, startServer } from './helpers/server.js';
import { eventually, sleep } from './helpers/wait.js';
import { type Delivery, startWebhookReceiver, type WebhookReceiver } from './helpers/webhookReceiver.js';
import { sockets, subscribe, untilLive } from './helpers/ws.js';

const CREATE_BOT = `mutation ($input: CreateBotInput!) {
  createBot(input: $input) { token webhookSecret bot { user { id username } } }
}`;
const WEBHOOK_ENV = {
  WEBHOOKS_ENABLED: 'true',
  WEBHOOK_ALLOW_PRIVATE: 'true',
  WEBHOOK_RETRY_BASE_MS: '100',
  WEBHOOK_TIMEOUT_MS: '5000',
};

type Bot = TestUser & { path: string };

async function createBot(
  url: string,
  receiver: WebhookReceiver,
  owner: TestUser,
  script?: Parameters<ReturnType<WebhookReceiver['endpoint']>['script']>[0],
): Promise<Bot> {
  const endpoint = receiver.endpoint(uniqueName('hook'));
  if (script) endpoint.script(script);
  const result = await data(
    url,
    CREATE_BOT,
    { input: { username: uniqueName('bot'), webhookUrl: endpoint.url } },
    owner.token,
  );
  const { token, webhookSecret, bot } = result.createBot;
  endpoint.setSecret(webhookSecret);
  return { id: bot.user.id, username: bot.user.username, token, path: endpoint.path };
}

/** Waits until each message id reached the bot, then checks each arrived exactly once. */
async function expectEachOnce(receiver: WebhookReceiver, bot: Bot, messageIds: string[]): Promise<Delivery[]> {
  const received = () => receiver.deliveries(bot.path).map((delivery) => delivery.body.message.id);
  await eventually(() => messageIds.every((id) => received().includes(id)), `${messageIds.length} deliveries`, 20_000);
  await sleep(300); // a duplicate would come right behind the original
  expect(received().sort()).toEqual([...messageIds].sort());
  return receiver.deliveries(bot.path);
}

describe('webhook targets', () => {
  it('only public unicast addresses count as public, IPv4-mapped IPv6 included', () => {
    for (const address of ['93.184.215.14', '8.8.8.8', '2606:4700:4700::1111'])
      expect(isPublicAddress(address)).toBe(true);
    for (const address of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '::1',
      '::',
      'fe80::1',
      'fd00:ec2::254',
      'ff02::1',
      '::ffff:127.0.0.1',
      '::ffff:169.254.169.254',
      '64:ff9b::a00:1',
      '2002:a00:1::',
      'not an address',
    ]) {
      expect(isPublicAddress(address), address).toBe(false);
    }
  });

  it("the connection's lookup refuses a name that resolves inside, and hands over only checked addresses", async () => {
    const lookup = (hostname: string, all: boolean) =>
      new Promise<unknown>((resolve, reject) =>
        publicOnlyLookup(hostname, { all }, (error, address) => (error ? reject(error) : resolve(address))),
      );
    await expect(lookup('localhost', true)).rejects.toThrow('public address');
    await expect(lookup('localhost', false)).rejects.toThrow('public address');
    await expect(lookup('127.0.0.1', false)).rejects.toThrow('public address');
    expect(await lookup('93.184.215.14', true)).toEqual([{ address: '93.184.215.14', family: 4 }]);
    expect(await lookup('93.184.215.14', false)).toBe('93.184.215.14');
  });
});

describe.each(SET_UPS)('webhooks on $name', (setUp) => {
  let pair: Pair;
  let a: string;
  let b: string;
  let receiver: WebhookReceiver;
  const open = sockets();

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    pair = await startPair({ ...setUp, options: { ...setUp.options, env: { ...setUp.options.env, ...WEBHOOK_ENV } } });
    a = pair.a.graphqlUrl;
    b = pair.b.graphqlUrl;
  });
  afterEach(() => open.closeAll());
  afterAll(async () => {
    await pair?.stop();
    await receiver?.close();
    expect(receiver.rejected).toEqual([]);
  });

  it('each message by a person reaches each bot member exactly once, whichever instance took it, as the contract says', async () => {
    const owner = await signUp(a);
    const friend = await signUp(a);
    const first = await createBot(a, receiver, owner);
    const second = await createBot(a, receiver, owner);
    const outsider = await createBot(a, receiver, owner);
    const group = await createGroup(a, owner, [friend, first, second], 'Team');
    await createGroup(a, owner, [friend, outsider], 'Elsewhere');

    const sent = [];
    for (let index = 0; index < 6; index++) {
      const [url, sender] = index % 2 === 0 ? [a, owner] : [b, friend];
      sent.push({ ...(await send(url, sender, group, `message ${index}`)), sender });
    }
    // A bot's own message (and another bot's) goes to no webhook.
    await send(b, first, group, 'a bot speaks');
    const ids = sent.map((message) => message.id);
    const deliveries = await expectEachOnce(receiver, first, ids);
    await expectEachOnce(receiver, second, ids);
    expect(receiver.deliveries(outsider.path)).toEqual([]);

    const message = sent[1]!;
    const delivery = deliveries.find((entry) => entry.body.message.id === message.id)!;
    expect(delivery.body).toEqual({
      id: delivery.id,
      type: 'message.created',
      conversationId: group,
      message: {
        id: message.id,
        body: 'message 1',
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        sender: { id: friend.id, username: friend.username },
      },
    });
    expect(delivery.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Set(deliveries.map((entry) => entry.id)).size).toBe(ids.length);
    // Signatures were checked by the receiver (receiver.rejected stays empty).
    expect(Math.abs(delivery.timestamp - Date.now() / 1000)).toBeLessThan(60);
  });

  it("a 2xx answer {text} is posted by the bot as its reply and arrives live, with the bot's badge", async () => {
    const user = await signUp(a);
    const owner = await signUp(a);
    const bot = await createBot(a, receiver, owner, (delivery) => ({
      json: { text: `You said: ${delivery.body.message.body}` },
    }));
    const direct = await openDirect(a, user, bot);
    const live = subscribe(
      open.socketClient(b, user.token),
      'subscription ($c: ID) { messageEvents(conversationId: $c) { kind message { body sender { id isBot } } } }',
      { c: direct },
    );
    // Sends until the subscription is live; the bot answers those too, but only once to 'ping'.
    await untilLive(live, () => send(a, user, direct, 'warming up'));
    await send(a, user, direct, 'ping');
    await eventually(
      () => live.events.some((event) => event.messageEvents.message.body === 'You said: ping'),
      'the reply, live',
      20_000,
    );
    const reply = live.events.find((event) => event.messageEvents.message.body === 'You said: ping')!;
    expect(reply.messageEvents.kind).toBe('CREATED');
    expect(reply.messageEvents.message.sender).toEqual({ id: bot.id, isBot: true });
    await sleep(300);
    const history = await readHistory(a, user, direct);
    expect(history.filter((message) => message.body === 'You said: ping')).toHaveLength(1);
    // The reply, a bot's message, went to no webhook.
    expect(receiver.deliveries(bot.path).map((delivery) => delivery.body.message.body)).not.toContain('You said: ping');
  });

  it('timeouts and non-2xx answers are retried with the same delivery id, then given up after the last attempt', async () => {
    const owner = await signUp(a);
    const flaky = await createBot(a, receiver, owner, (_delivery, attempt) =>
      attempt === 1 ? { hangMs: 6_000 } : attempt === 2 ? { status: 503 } : { json: { text: 'third time lucky' } },
    );
    const dead = await createBot(a, receiver, owner, () => ({ status: 500 }));
    const group = await createGroup(a, owner, [flaky, dead], 'Flaky');
    const message = await send(a, owner, group, 'are you there?');

    await eventually(() => receiver.deliveries(flaky.path).length === 3, 'three attempts', 20_000);
    const attempts = receiver.deliveries(flaky.path);
    expect(new Set(attempts.map((attempt) => attempt.id)).size).toBe(1);
    expect(attempts.every((attempt) => attempt.body.message.id === message.id)).toBe(true);
    await eventually(
      async () => (await readHistory(a, owner, group)).some((entry) => entry.body === 'third time lucky'),
      'the reply after the retries',
    );

    await eventually(
      () => receiver.deliveries(dead.path).length === MAX_WEBHOOK_ATTEMPTS,
      `${MAX_WEBHOOK_ATTEMPTS} attempts`,
      20_000,
    );
    await eventually(async () => {
      const row = await pair.a.app.services.dataSource.manager.findOneBy(WebhookDelivery, {
        botId: decodeId('User', dead.id)!,
      });
      return row?.status === 'FAILED';
    }, 'the delivery given up');
    await sleep(500);
    expect(receiver.deliveries(dead.path)).toHaveLength(MAX_WEBHOOK_ATTEMPTS);
    expect(new Set(receiver.deliveries(dead.path).map((attempt) => attempt.id)).size).toBe(1);
  });

  it('a hanging webhook holds back neither sending nor another bot', async () => {
    // Its own server, whose attempts wait a minute for an answer: the slow bot answers nothing
    // until released, so the quick bot is served within the wait only if it never queues behind it.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const server = await startServer(setUp.database, {
      ...setUp.options,
      env: { ...setUp.options.env, ...WEBHOOK_ENV, WEBHOOK_TIMEOUT_MS: '60000' },
    });
    try {
      const url = server.graphqlUrl;
      const owner = await signUp(url);
      const slow = await createBot(url, receiver, owner, () => ({ until: gate }));
      const quick = await createBot(url, receiver, owner);
      const group = await createGroup(url, owner, [slow, quick], 'Mixed');
      const ids = [];
      for (let index = 0; index < 8; index++) ids.push((await send(url, owner, group, `m${index}`)).id);
      // Every message reached the quick bot while the slow one held its requests open, no more than its share.
      await expectEachOnce(receiver, quick, ids);
      expect(receiver.deliveries(slow.path).length).toBeGreaterThan(0);
      expect(receiver.deliveries(slow.path).length).toBeLessThanOrEqual(PER_BOT_CONCURRENCY);
      // Released, the slow bot still gets each message once, in its turn.
      release();
      await expectEachOnce(receiver, slow, ids);
    } finally {
      release();
      await server.stop();
    }
  });

  it('an answer beyond the size cap is delivered but posts no reply', async () => {
    const owner = await signUp(a);
    const bot = await createBot(a, receiver, owner, () => ({ json: { text: 'x'.repeat(70 * 1024) } }));
    const group = await createGroup(a, owner, [bot], 'Big');
    const message = await send(a, owner, group, 'say a lot');
    await expectEachOnce(receiver, bot, [message.id]);
    await eventually(async () => {
      const row = await pair.a.app.services.dataSource.manager.findOneBy(WebhookDelivery, {
        botId: decodeId('User', bot.id)!,
      });
      return row?.status === 'SENT';
    }, 'the delivery recorded');
    expect((await readHistory(a, owner, group)).map((entry) => entry.body)).toEqual(['say a lot']);
  });
});

describe.each(SET_UPS)('webhook retries across a restart on $name', ({ database, options }) => {
  it('a retry due while the server was down happens after it restarts, with the same delivery id', async () => {
    const receiver = await startWebhookReceiver();
    const env = { ...options.env, ...WEBHOOK_ENV, WEBHOOK_RETRY_BASE_MS: '1500' };
    const server = await startServer(database, { ...options, env });
    const config = server.app.services.config;
    let restarted: Awaited<ReturnType<typeof buildApp>> | null = null;
    try {
      const url = server.graphqlUrl;
      const owner = await signUp(url);
      const bot = await createBot(url, receiver, owner, (_delivery, attempt) =>
        attempt === 1 ? { status: 500 } : { json: { text: 'back again' } },
      );
      const group = await createGroup(url, owner, [bot], 'Restart');
      const message = await send(url, owner, group, 'before the restart');
      await eventually(() => receiver.deliveries(bot.path).length === 1, 'the first attempt');
      await server.app.stop(); // waits for the attempt's outcome to be recorded

      restarted = await buildApp(config, createLogger(config));
      const restartedUrl = `${await restarted.start()}/graphql`;
      await eventually(() => receiver.deliveries(bot.path).length === 2, 'the retry after the restart', 20_000);
      const [first, second] = receiver.deliveries(bot.path);
      expect(second!.id).toBe(first!.id);
      expect(second!.body.message.id).toBe(message.id);
      await eventually(
        async () => (await readHistory(restartedUrl, owner, group)).some((entry) => entry.body === 'back again'),
        'the reply',
      );
      await sleep(500);
      expect(receiver.deliveries(bot.path)).toHaveLength(2);
      expect(receiver.rejected).toEqual([]);
    } finally {
      await restarted?.stop();
      if (config.database.kind === 'mysql') {
        await dropMysqlDatabase(decodeURIComponent(new URL(config.database.url).pathname.slice(1)));
      } else {
        rmSync(dirname(config.database.path), { recursive: true, force: true });
      }
      await receiver.close();
    }
  });
});

describe('SSRF', () => {
  const logLines: string[] = [];
  let server: Awaited<ReturnType<typeof startServer>>;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    server = await startServer('sqlite', {
      env: { WEBHOOKS_ENABLED: 'true', WEBHOOK_RETRY_BASE_MS: '100', WEBHOOK_TIMEOUT_MS: '1500' },
      logLines,
    });
  });
  afterAll(async () => {
    await server?.stop();
    await receiver?.close();
  });

  it('createBot refuses webhook URLs to loopback, private, link-local, CGNAT, multicast, unspecified and metadata addresses', async () => {
    const owner = await signUp(server.graphqlUrl);
    for (const webhookUrl of [
      'http://127.0.0.1:8080/hook',
      'http://localhost/hook',
      'http://10.0.0.5/hook',
      'http://172.20.1.1/hook',
      'http://192.168.0.10/hook',
      'http://169.254.169.254/latest/meta-data/',
      'http://100.64.0.1/hook',
      'http://0.0.0.0/hook',
      'http://224.0.0.1/hook',
      'http://[::1]/hook',
      'http://[::]/hook',
      'http://[fe80::1]/hook',
      'http://[fd00:ec2::254]/hook',
      'http://[::ffff:127.0.0.1]/hook',
      'http://[::ffff:a9fe:a9fe]/hook',
      'http://2130706433/hook', // 127.0.0.1 as one number
      'http://0x7f.1/hook',
      'ftp://93.184.215.14/hook',
      'not a url',
    ]) {
      const result = await gql(
        server.graphqlUrl,
        CREATE_BOT,
        { input: { username: uniqueName('bot'), webhookUrl } },
        owner.token,
      );
      expect(errorCode(result), webhookUrl).toBe('BAD_USER_INPUT');
      expect(result.errors![0]!.extensions!.field).toBe('webhookUrl');
    }
    // A public address is accepted.
    const accepted = await gql(
      server.graphqlUrl,
      CREATE_BOT,
      { input: { username: uniqueName('bot'), webhookUrl: 'https://93.184.215.14/hook' } },
      owner.token,
    );
    expect(accepted.errors).toBeUndefined();
  });

  it('at delivery time too: a target that turned private (DNS changed) is never requested', async () => {
    const url = server.graphqlUrl;
    const owner = await signUp(url);
    const result = await data(
      url,
      CREATE_BOT,
      { input: { username: uniqueName('bot'), webhookUrl: 'https://93.184.215.14/hook' } },
      owner.token,
    );
    const botId = decodeId('User', result.createBot.bot.user.id)!;
    const endpoints = [receiver.endpoint('by-name'), receiver.endpoint('by-address')];
    const group = await createGroup(url, owner, [{ id: encodeGlobalID('User', botId), username: '', token: '' }]);
    for (const [index, endpoint] of endpoints.entries()) {
      endpoint.setSecret(result.createBot.webhookSecret);
      // As a DNS answer that changed after creation would make it: a name and an address inside.
      const target = index === 0 ? endpoint.url.replace('127.0.0.1', 'localhost') : endpoint.url;
      await server.app.services.dataSource.manager.update(BotRow, { userId: botId }, { webhookUrl: target });
      await send(url, owner, group, `attempt ${index}`);
      await eventually(
        () => logLines.filter((line) => line.includes('webhook target refused')).length === index + 1,
        'the refusal logged',
      );
      await eventually(async () => {
        const rows = await server.app.services.dataSource.manager.findBy(WebhookDelivery, { botId });
        return rows.length === index + 1 && rows.every((row) => row.status === 'FAILED');
      }, 'the delivery refused');
    }
    expect(receiver.deliveries()).toEqual([]);
    expect(receiver.rejected).toEqual([]);
  });
});
