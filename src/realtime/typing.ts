// Typing indicators. State is shared (Redis, or this process) so that repeats
// reaching different instances behind a load balancer still count as one.
import type { RedisClient } from './pubsub.js';
import type { Logger } from '../logger.js';
import type { Bus } from './pubsub.js';
import type { TypingPayload } from './topics.js';

/** A repeat of typing=true within this window of the last published one is not published again. */
export const TYPING_REPEAT_WINDOW_MS = 2_000;
/** typing=true ends by itself this long after the last repeat. */
export const TYPING_TIMEOUT_MS = 5_000;

/** Shared typing state of one (conversation, user). */
type TypingState = {
  /** Records a typing=true at `now`; true when it should be published. */
  repeat(key: string, now: number): Promise<boolean>;
  /** Ends typing if its last repeat was at `at`; true when it did. */
  expire(key: string, at: number): Promise<boolean>;
  /** Ends typing; true when the user was typing. */
  end(key: string): Promise<boolean>;
};

const REPEAT_SCRIPT = `
local published = tonumber(redis.call('HGET', KEYS[1], 'publishedAt'))
local now = tonumber(ARGV[1])
local publish = (published == nil) or (now - published >= tonumber(ARGV[2]))
if publish then redis.call('HSET', KEYS[1], 'publishedAt', ARGV[1]) end
redis.call('HSET', KEYS[1], 'lastAt', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if publish then return 1 else return 0 end`;

const EXPIRE_SCRIPT = `
if redis.call('HGET', KEYS[1], 'lastAt') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

function redisTypingState(redis: RedisClient): TypingState {
  return {
    repeat: async (key, now) =>
      (await redis.eval(REPEAT_SCRIPT, 1, key, now, TYPING_REPEAT_WINDOW_MS, TYPING_TIMEOUT_MS * 2)) === 1,
    expire: async (key, at) => (await redis.eval(EXPIRE_SCRIPT, 1, key, at)) === 1,
    end: async (key) => (await redis.del(key)) === 1,
  };
}

function inProcessTypingState(): TypingState {
  const states = new Map<string, { publishedAt: number; lastAt: number }>();
  return {
    async repeat(key, now) {
      const state = states.get(key);
      const publish = !state || now - state.publishedAt >= TYPING_REPEAT_WINDOW_MS;
      states.set(key, { publishedAt: publish ? now : state!.publishedAt, lastAt: now });
      return publish;
    },
    async expire(key, at) {
      if (states.get(key)?.lastAt !== at) return false;
      states.delete(key);
      return true;
    },
    end: async (key) => states.delete(key),
  };
}

export class Typing {
  private readonly state: TypingState;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly listeners = new Set<(change: TypingPayload) => void>();

  constructor(
    private readonly bus: Bus,
    private readonly logger: Logger,
  ) {
    this.state = bus.redis ? redisTypingState(bus.redis) : inProcessTypingState();
  }

  async start(): Promise<void> {
    await this.bus.subscribe('typing', (change) => {
      for (const listener of this.listeners) {
        // A listener that throws (a bug) must not deprive the others, nor escape into the pub/sub client.
        try {
          listener(change);
        } catch (error) {
          this.logger.error({ err: error }, 'typing listener failed');
        }
      }
    });
  }

  stop(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  listen(listener: (change: TypingPayload) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Records a typing change; while shared state is unreachable, typing is dropped rather than failing the caller. */
  async set(conversationId: number, userId: number, typing: boolean): Promise<void> {
    try {
      await this.change(conversationId, userId, typing);
    } catch {
      // Typing is ephemeral: losing one indicator during a Redis outage is acceptable.
    }
  }

  private async change(conversationId: number, userId: number, typing: boolean): Promise<void> {
    const key = `${this.bus.keyPrefix}typing:${conversationId}:${userId}`;
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
    if (!typing) {
      if (await this.state.end(key)) await this.bus.publish('typing', { conversationId, userId, typing: false });
      return;
    }
    const now = Date.now();
    if (await this.state.repeat(key, now)) await this.bus.publish('typing', { conversationId, userId, typing: true });
    // Whichever instance saw the last repeat ends it; a newer repeat elsewhere makes expire() a no-op here.
    const timer = setTimeout(() => {
      this.timers.delete(key);
      // Nobody awaits a timer: a failure here must be logged, not left to end the process.
      void this.state
        .expire(key, now)
        .then((ended) => (ended ? this.bus.publish('typing', { conversationId, userId, typing: false }) : undefined))
        .catch((error: unknown) =>
          this.logger.warn({ err: (error as Error).message, conversationId }, 'typing could not be ended on expiry'),
        );
    }, TYPING_TIMEOUT_MS);
    timer.unref();
    this.timers.set(key, timer);
  }
}
