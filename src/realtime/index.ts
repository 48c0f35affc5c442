// Live delivery, assembled: the pub/sub bus, the membership cache, the message
// feed, typing and presence. One instance of each per server process.
import type { DataSource } from 'typeorm';
import type { Logger } from '../logger.js';
import { Memberships } from './membership.js';
import { MessageFeed } from './messageFeed.js';
import { Presence } from './presence.js';
import { type Bus, createBus } from './pubsub.js';
import { Typing } from './typing.js';
import { Broadcast } from './broadcast.js';
import { ReadMarkers } from './readMarkers.js';
import { Blockers } from './blockers.js';

export type Realtime = {
  bus: Bus;
  memberships: Memberships;
  feed: MessageFeed;
  typing: Typing;
  presence: Presence;
  readMarkers: ReadMarkers;
  /** Blocks and unblocks, for presence streams to apply at once. */
  blocks: Broadcast<'blocks'>;
  blockers: Blockers;
  stop(): Promise<void>;
};

export async function startRealtime(
  dataSource: DataSource,
  redis: { url: string | undefined; clusterNodes?: string[] | undefined; keyPrefix: string },
  logger: Logger,
): Promise<Realtime> {
  const bus = createBus(redis, logger);
  const memberships = new Memberships(dataSource, bus, logger);
  const feed = new MessageFeed(dataSource, bus, memberships, logger);
  const typing = new Typing(bus, logger);
  const presence = new Presence(dataSource, bus, logger);
  const readMarkers = new ReadMarkers(bus, logger);
  const blocks = new Broadcast(bus, 'blocks', logger);
  const blockers = new Blockers(dataSource, blocks);
  await Promise.all([
    memberships.start(),
    feed.start(),
    typing.start(),
    presence.start(),
    readMarkers.start(),
    blocks.start(),
    blockers.start(),
  ]);
  return {
    readMarkers,
    blocks,
    blockers,
    bus,
    memberships,
    feed,
    typing,
    presence,
    async stop() {
      typing.stop();
      await presence.stop();
      await feed.stop();
      await bus.close();
    },
  };
}
