// Read markers as they move, to the other members of the conversation on every
// instance: at most one publish per member and conversation per
// READ_MARKER_THROTTLE_MS, the latest position always published in the end.
import { LRUCache } from 'lru-cache';
import type { Logger } from '../logger.js';
import { Broadcast } from './broadcast.js';
import type { Bus } from './pubsub.js';
import type { ReadMarkerPayload } from './topics.js';

/** A member's marker is published at most once per this period (a fast reader scrolls through many). */
export const READ_MARKER_THROTTLE_MS = 1_000;

type Throttle = { publishedAt: number; pending: ReadMarkerPayload | null; timer: NodeJS.Timeout | null };

export class ReadMarkers extends Broadcast<'readMarkers'> {
  private readonly throttles = new LRUCache<string, Throttle>({ max: 100_000, ttl: READ_MARKER_THROTTLE_MS * 2 });

  constructor(bus: Bus, logger: Logger) {
    super(bus, 'readMarkers', logger);
  }

  /**
   * The member's marker moved (committed): published now, or at the end of the
   * period with the newest position if one went out within it.
   */
  moved(marker: ReadMarkerPayload): void {
    const key = `${marker.conversationId}:${marker.userId}`;
    const now = Date.now();
    const throttle = this.throttles.get(key);
    if (!throttle || now - throttle.publishedAt >= READ_MARKER_THROTTLE_MS) {
      this.throttles.set(key, { publishedAt: now, pending: null, timer: null });
      void this.publish(marker);
      return;
    }
    throttle.pending = marker;
    throttle.timer ??= setTimeout(
      () => {
        const latest = throttle.pending!;
        this.throttles.set(key, { publishedAt: Date.now(), pending: null, timer: null });
        void this.publish(latest);
      },
      throttle.publishedAt + READ_MARKER_THROTTLE_MS - now,
    ).unref();
  }
}
