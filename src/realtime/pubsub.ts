// Fan-out between instances: graphql-redis-subscriptions on Redis when
// REDIS_URL is set, graphql-subscriptions' in-process PubSub otherwise, behind
// one typed interface. Pub/sub is only a doorbell here: what must not be lost
// is read back from the database (see messageFeed.ts).
import { PubSub, type PubSubEngine } from 'graphql-subscriptions';
import { RedisPubSub } from 'graphql-redis-subscriptions';
import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { channelOf, type Topic, type Topics } from './topics.js';

/** How long a command waits for a Redis that is down before failing, so requests never hang on it. */
const REDIS_COMMAND_TIMEOUT_MS = 1_000;
const REDIS_MAX_RECONNECT_DELAY_MS = 2_000;

export type Bus = {
  publish<T extends Topic>(topic: T, payload: Topics[T]): Promise<void>;
  subscribe<T extends Topic>(topic: T, handler: (payload: Topics[T]) => void): Promise<() => void>;
  /** Called each time the subscriber connection is lost: what is published from now on may be dropped. */
  onDisconnect(listener: () => void): void;
  /** Called each time the subscriber connection comes back after a loss: messages published meanwhile were dropped. */
  onReconnect(listener: () => void): void;
  /** False while Redis is configured but unreachable. */
  healthy(): boolean;
  /** Whether a published message can be lost (Redis pub/sub), so consumers must also poll the database. */
  lossy: boolean;
  /** A Redis client for shared state (presence, typing), or null on the in-process bus. */
  redis: Redis | null;
  /** Prefix for every Redis key of this deployment. */
  keyPrefix: string;
  close(): Promise<void>;
};

export function createBus(redisUrl: string | undefined, keyPrefix: string, logger: Logger): Bus {
  return redisUrl ? createRedisBus(redisUrl, keyPrefix, logger) : createInProcessBus(keyPrefix);
}

function typed(engine: PubSubEngine, keyPrefix: string) {
  return {
    publish: <T extends Topic>(topic: T, payload: Topics[T]) => engine.publish(channelOf(keyPrefix, topic), payload),
    async subscribe<T extends Topic>(topic: T, handler: (payload: Topics[T]) => void) {
      const id = await engine.subscribe(channelOf(keyPrefix, topic), handler, {});
      return () => engine.unsubscribe(id);
    },
  };
}

function createInProcessBus(keyPrefix: string): Bus {
  return {
    ...typed(new PubSub(), keyPrefix),
    keyPrefix,
    onDisconnect: () => undefined,
    onReconnect: () => undefined,
    healthy: () => true,
    lossy: false,
    redis: null,
    close: async () => undefined,
  };
}

function createRedisBus(url: string, keyPrefix: string, logger: Logger): Bus {
  const options = {
    retryStrategy: (attempt: number) => Math.min(attempt * 100, REDIS_MAX_RECONNECT_DELAY_MS),
    // Commands fail at once while disconnected instead of queueing: a send must
    // succeed during an outage, and the database log covers what pub/sub misses.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    lazyConnect: false,
    // Commands issued in one tick (a group commit's publishes, many requests' rate-limit checks) go out in one write.
    enableAutoPipelining: true,
  };
  const publisher = new Redis(url, options);
  // The subscriber must queue its SUBSCRIBE until connected and re-subscribe after a reconnect.
  // Its ready check (INFO) would be refused once the connection is in subscriber mode.
  const subscriber = new Redis(url, {
    retryStrategy: options.retryStrategy,
    maxRetriesPerRequest: null,
    enableReadyCheck: false,
  });
  const commands = new Redis(url, options);
  const engine = new RedisPubSub({ publisher, subscriber });
  const reconnectListeners: (() => void)[] = [];
  const disconnectListeners: (() => void)[] = [];
  let subscriberReady = false;
  let everReady = false;

  for (const client of [publisher, subscriber, commands]) {
    client.on('error', (error: Error) => logger.debug({ err: error.message }, 'redis connection error'));
  }
  subscriber.on('ready', () => {
    subscriberReady = true;
    if (everReady) {
      logger.info('redis subscriber reconnected: catching up from the database');
      for (const listener of reconnectListeners) listener();
    }
    everReady = true;
  });
  subscriber.on('close', () => {
    if (!subscriberReady) return;
    logger.warn('redis subscriber disconnected');
    subscriberReady = false;
    for (const listener of disconnectListeners) listener();
  });

  const bus = typed(engine, keyPrefix);
  return {
    ...bus,
    publish: async (topic, payload) => {
      try {
        await bus.publish(topic, payload);
      } catch (error) {
        // Missed publishes are recovered from the database by every instance's feed.
        logger.warn({ err: (error as Error).message, topic }, 'redis publish failed');
      }
    },
    onDisconnect: (listener) => void disconnectListeners.push(listener),
    onReconnect: (listener) => void reconnectListeners.push(listener),
    healthy: () => subscriberReady && publisher.status === 'ready',
    lossy: true,
    redis: commands,
    keyPrefix,
    async close() {
      await Promise.allSettled([publisher.quit(), subscriber.quit(), commands.quit()]);
    },
  };
}
