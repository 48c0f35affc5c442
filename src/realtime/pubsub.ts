// Fan-out between instances: graphql-redis-subscriptions on Redis when
// REDIS_URL is set, sharded pub/sub on a Redis Cluster when REDIS_CLUSTER_NODES
// is, graphql-subscriptions' in-process PubSub otherwise, behind one typed
// interface. Pub/sub is only a doorbell here: what must not be lost
// is read back from the database (see messageFeed.ts).
import { PubSub, type PubSubEngine } from 'graphql-subscriptions';
import { RedisPubSub } from 'graphql-redis-subscriptions';
import { Cluster, Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { RATE_LIMIT_COMMAND_AT_ONCE } from '../rateLimit.js';
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
  /** A Redis (or Redis Cluster) client for shared state (presence, typing, rate limits), or null on the in-process bus. */
  redis: RedisClient | null;
  /** Prefix for every Redis key of this deployment. */
  keyPrefix: string;
  close(): Promise<void>;
};

/** A single Redis or a Redis Cluster: keys are laid out for hash slots (see presence.ts), so both serve alike. */
export type RedisClient = Redis | Cluster;

export type RedisSettings = { url: string | undefined; clusterNodes?: string[] | undefined; keyPrefix: string };

export function createBus({ url, clusterNodes, keyPrefix }: RedisSettings, logger: Logger): Bus {
  if (clusterNodes?.length) return createClusterBus(clusterNodes, keyPrefix, logger);
  return url ? createRedisBus(url, keyPrefix, logger) : createInProcessBus(keyPrefix);
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

/** Written at once rather than auto-pipelined: a socket upgrade's rate-limit check (rateLimit.ts says why). */
const NOT_AUTO_PIPELINED = [RATE_LIMIT_COMMAND_AT_ONCE];

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
    autoPipeliningIgnoredCommands: NOT_AUTO_PIPELINED,
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

/**
 * The bus on a Redis Cluster, with sharded pub/sub: SPUBLISH goes to the one
 * shard owning the channel's slot, instead of PUBLISH being copied to every
 * node over the cluster bus. graphql-redis-subscriptions (2.7) only speaks
 * SUBSCRIBE/PUBLISH, so this small engine uses ioredis' Cluster directly: its
 * `shardedSubscribers` keeps one subscriber connection per master and moves
 * the SSUBSCRIBEs when a replica is promoted. Payloads are JSON, as there.
 */
function createClusterBus(nodes: string[], keyPrefix: string, logger: Logger): Bus {
  const seeds = nodes.map((node) => {
    const separator = node.lastIndexOf(':');
    return { host: node.slice(0, separator), port: Number(node.slice(separator + 1)) };
  });
  const retry = (attempt: number) => Math.min(attempt * 100, REDIS_MAX_RECONNECT_DELAY_MS);
  // As on a single Redis: commands fail at once while the cluster is unreachable
  // (the database log and the per-process fallbacks cover them).
  const commands = new Cluster(seeds, {
    clusterRetryStrategy: retry,
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    autoPipeliningIgnoredCommands: NOT_AUTO_PIPELINED,
    redisOptions: { commandTimeout: REDIS_COMMAND_TIMEOUT_MS, maxRetriesPerRequest: 0 },
  });
  // The subscriber queues its SSUBSCRIBEs until connected and renews them after a failover.
  const subscriber = new Cluster(seeds, {
    clusterRetryStrategy: retry,
    shardedSubscribers: true,
    clusterNodeRetryStrategy: retry,
  });
  const handlers = new Map<string, Set<(payload: never) => void>>();
  const reconnectListeners: (() => void)[] = [];
  const disconnectListeners: (() => void)[] = [];
  let subscriberReady = false;
  let everReady = false;

  for (const client of [commands, subscriber]) {
    client.on('error', (error: Error) => logger.debug({ err: error.message }, 'redis cluster error'));
    client.on('node error', (error: Error, node: string) =>
      logger.debug({ err: error.message, node }, 'redis cluster node error'),
    );
  }
  subscriber.on('smessage', (channel: string, message: string) => {
    const listeners = handlers.get(channel);
    if (!listeners) return;
    let payload: never;
    try {
      payload = JSON.parse(message) as never;
    } catch {
      return;
    }
    for (const listener of listeners) listener(payload);
  });
  subscriber.on('ready', () => {
    subscriberReady = true;
    if (everReady) {
      logger.info('redis cluster subscriber reconnected: catching up from the database');
      for (const listener of reconnectListeners) listener();
    }
    everReady = true;
  });
  // A shard's subscriber lost (its master failed): what is published to it may be
  // dropped until ioredis renews the SSUBSCRIBEs on the promoted replica; the
  // feed then reads what it missed from the database.
  subscriber.on('-subscriber', () => {
    for (const listener of disconnectListeners) listener();
  });
  subscriber.on('subscribersReady', () => {
    if (everReady) for (const listener of reconnectListeners) listener();
  });
  subscriber.on('close', () => {
    if (!subscriberReady) return;
    logger.warn('redis cluster subscriber disconnected');
    subscriberReady = false;
    for (const listener of disconnectListeners) listener();
  });

  return {
    async publish(topic, payload) {
      try {
        await commands.spublish(channelOf(keyPrefix, topic), JSON.stringify(payload));
      } catch (error) {
        logger.warn({ err: (error as Error).message, topic }, 'redis cluster publish failed');
      }
    },
    async subscribe(topic, handler) {
      const channel = channelOf(keyPrefix, topic);
      let listeners = handlers.get(channel);
      if (!listeners) {
        listeners = new Set();
        handlers.set(channel, listeners);
        await subscriber.ssubscribe(channel);
      }
      listeners.add(handler as (payload: never) => void);
      return () => {
        listeners.delete(handler as (payload: never) => void);
      };
    },
    onDisconnect: (listener) => void disconnectListeners.push(listener),
    onReconnect: (listener) => void reconnectListeners.push(listener),
    healthy: () => subscriberReady && commands.status === 'ready',
    lossy: true,
    redis: commands,
    keyPrefix,
    async close() {
      await Promise.allSettled([commands.quit(), subscriber.quit()]);
    },
  };
}
