// The per-process limit on the database work of starting subscriptions: a
// WebSocket subscription's start, and each batch a replay reads, over any
// transport. Thousands of clients reconnecting at once (a deploy, a network
// blip), or one client starting replays in a loop, would otherwise all be
// mid-start together, their queries queued for a few database connections.
import pLimit from 'p-limit';

/** Subscription starts and replay batches running at once; the others wait their turn. */
export const MAX_CONCURRENT_SUBSCRIPTION_STARTS = 32;

export const subscriptionStarts = pLimit(MAX_CONCURRENT_SUBSCRIPTION_STARTS);
