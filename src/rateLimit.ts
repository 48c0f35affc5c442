// Token-bucket rate limits, shared by every instance through Redis when it is
// configured. Hand-written rather than @envelop/rate-limiter because a limit
// must never make a send fail while Redis is down: each check falls back to a
// per-process bucket until Redis answers again.
import type { RedisClient } from './realtime/pubsub.js';
import { ApiError } from './errors.js';
import type { Logger } from './logger.js';

/** `burst` requests at once, refilled at `perSecond`. */
export type RateRule = { burst: number; perSecond: number };

export const RATE_LIMITED_ACTIONS = [
  'sendMessage',
  'setTyping',
  'reaction',
  // createGroupConversation, addMembers, leaveConversation, openDirectConversation: each change
  // costs work in every concerned subscriber's conversationEvents and presence streams.
  'membershipChange',
  'signUpPerIp',
  'logInPerIp',
  'logInPerUsername',
  'connectPerIp',
  'subscribePerSocket',
  'pushRegistration',
  'upload',
  // Each question to the assistant costs a model request (issue #14): per asking user and per conversation.
  'assistantPerUser',
  'assistantPerConversation',
] as const;
export type RateLimitedAction = (typeof RATE_LIMITED_ACTIONS)[number];
export type RateRules = Record<RateLimitedAction, RateRule>;

type Outcome = { allowed: boolean; retryAfterMs: number };

// KEYS[1] bucket; ARGV burst, perSecond. Time from Redis, so instances' clocks don't matter.
const TAKE_SCRIPT = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local burst = tonumber(ARGV[1])
local rate = tonumber(ARGV[2]) / 1000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local allowed = 0
local retry = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  retry = math.ceil((1 - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate) + 1000)
return { allowed, retry }`;

/**
 * The script's answer, or null for anything else. During a failover a Redis
 * Cluster client answered some calls with a reply that was not the script's
 * (it had no retry time), which read as refusals of sends that no limit
 * refused. An answer that is not the script's counts as Redis unavailable.
 */
function outcomeOf(reply: unknown): Outcome | null {
  if (!Array.isArray(reply) || reply.length !== 2) return null;
  const [allowed, retryAfterMs] = reply as unknown[];
  if ((allowed !== 0 && allowed !== 1) || typeof retryAfterMs !== 'number') return null;
  return { allowed: allowed === 1, retryAfterMs };
}

/** The same bucket in this process's memory. */
class LocalBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  take(key: string, rule: RateRule, now = Date.now()): Outcome {
    const rate = rule.perSecond / 1000;
    const bucket = this.buckets.get(key) ?? { tokens: rule.burst, at: now };
    bucket.tokens = Math.min(rule.burst, bucket.tokens + Math.max(0, now - bucket.at) * rate);
    bucket.at = now;
    this.buckets.delete(key); // re-inserted last: the Map stays in least-recently-used order
    this.buckets.set(key, bucket);
    if (this.buckets.size > 100_000) this.buckets.delete(this.buckets.keys().next().value!);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true, retryAfterMs: 0 };
    }
    return { allowed: false, retryAfterMs: Math.ceil((1 - bucket.tokens) / rate) };
  }
}

/**
 * The script's commands on the Redis client (see the RateLimiter's
 * constructor): one auto-pipelined with the tick's other commands, one
 * written at once (realtime/pubsub.ts), for the checks in CHECKED_AT_ONCE.
 */
export const RATE_LIMIT_COMMAND = 'takeRateToken';
export const RATE_LIMIT_COMMAND_AT_ONCE = 'takeRateTokenAtOnce';

/**
 * A socket's upgrade holds its request and socket while its connect check
 * waits, and an auto-pipelined command waits for the pipeline in flight to be
 * answered before it is even written. In a reconnect storm every upgrade
 * waited that long, long enough to be promoted: about 1 KB per socket of
 * old-space garbage on MySQL + Redis (docs/benchmarks.md). Every other check
 * stays auto-pipelined: written one by one, a send's check cost a write
 * system call each, 7 % of the server's CPU in the MySQL throughput profile.
 */
const CHECKED_AT_ONCE: ReadonlySet<RateLimitedAction> = new Set(['connectPerIp']);

type TakeToken = (key: string, burst: number, perSecond: number) => Promise<unknown>;
type ScriptedRedis = RedisClient & Record<typeof RATE_LIMIT_COMMAND | typeof RATE_LIMIT_COMMAND_AT_ONCE, TakeToken>;

export class RateLimiter {
  private readonly local = new LocalBuckets();
  private readonly redis: ScriptedRedis | null;

  constructor(
    private readonly rules: RateRules,
    redis: RedisClient | null,
    private readonly keyPrefix: string,
    private readonly logger: Logger,
    /** Told of every refusal (the metrics' counter). */
    private readonly onRefused: (action: RateLimitedAction) => void = () => undefined,
  ) {
    // ioredis runs a defined command by its SHA (EVALSHA), and sends the
    // script itself only when Redis does not know it (a restart, a new
    // cluster node): a send does not ship and hash the whole script each time.
    for (const command of [RATE_LIMIT_COMMAND, RATE_LIMIT_COMMAND_AT_ONCE]) {
      redis?.defineCommand(command, { numberOfKeys: 1, lua: TAKE_SCRIPT });
    }
    this.redis = redis as ScriptedRedis | null;
  }

  /** Takes one token for `action` by `who`; RATE_LIMITED with retryAfterMs when none is left. */
  async consume(action: RateLimitedAction, who: string | number): Promise<void> {
    const outcome = await this.take(action, String(who));
    if (!outcome.allowed) {
      this.onRefused(action);
      throw new ApiError('RATE_LIMITED', 'Too many requests; try again later.', { retryAfterMs: outcome.retryAfterMs });
    }
  }

  /** A per-process check, for limits that concern one connection only. */
  consumeLocally(action: RateLimitedAction, who: string): Outcome {
    const outcome = this.local.take(`${action}:${who}`, this.rules[action]);
    if (!outcome.allowed) this.onRefused(action);
    return outcome;
  }

  private async take(action: RateLimitedAction, who: string): Promise<Outcome> {
    const rule = this.rules[action];
    const key = `${action}:${who}`;
    if (this.redis && this.redis.status === 'ready') {
      try {
        const command = CHECKED_AT_ONCE.has(action) ? RATE_LIMIT_COMMAND_AT_ONCE : RATE_LIMIT_COMMAND;
        const reply = await this.redis[command](`${this.keyPrefix}rate:${key}`, rule.burst, rule.perSecond);
        const outcome = outcomeOf(reply);
        if (outcome) return outcome;
        this.logger.warn({ reply }, 'rate limit: an unexpected reply from Redis; falls back to this process');
      } catch (error) {
        this.logger.debug({ err: (error as Error).message }, 'rate limit falls back to this process');
      }
    }
    return this.local.take(key, rule);
  }
}
