// What the rate limiter makes of Redis's answers (src/rateLimit.ts). Redis is
// stood in for by an object answering the script's call, because the replies
// checked here are ones a healthy Redis never gives; tests/rateLimits.test.ts
// and the cluster tests run the limits on real Redis.
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import type { RedisClient } from '../src/realtime/pubsub.js';
import { RATE_LIMITED_ACTIONS, RateLimiter, type RateRules } from '../src/rateLimit.js';

const RULES = Object.fromEntries(
  RATE_LIMITED_ACTIONS.map((action) => [action, { burst: 2, perSecond: 0.001 }]),
) as RateRules;

function limiterAnswering(reply: unknown): RateLimiter {
  const answer = async () => reply;
  const redis = {
    status: 'ready',
    defineCommand() {},
    takeRateToken: answer,
    takeRateTokenAtOnce: answer,
  } as unknown as RedisClient;
  return new RateLimiter(RULES, redis, 'test:', createLogger({ logLevel: 'silent' }));
}

/** The outcome of three sends in a row: undefined when allowed, else the error's extensions. */
async function threeSends(limiter: RateLimiter): Promise<unknown[]> {
  const outcomes = [];
  for (let send = 0; send < 3; send++) {
    outcomes.push(
      await limiter.consume('sendMessage', 7).then(
        () => undefined,
        (error: { extensions: unknown }) => error.extensions,
      ),
    );
  }
  return outcomes;
}

describe("the rate limiter's reading of Redis's answers", () => {
  it.each([[[]], [[0]], [[1]], [null], ['OK'], [['1', 0]], [[0, '5']], [[2, 0]], [[1, 0, 0]]])(
    "takes %j, which is not the script's answer, as Redis unavailable: this process's bucket decides",
    async (reply) => {
      const outcomes = await threeSends(limiterAnswering(reply));
      expect(outcomes.slice(0, 2)).toEqual([undefined, undefined]);
      expect(outcomes[2]).toEqual({ code: 'RATE_LIMITED', retryAfterMs: expect.any(Number) });
      expect((outcomes[2] as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(0);
    },
  );

  it("follows the script's answer: a refusal with its retry time, or a pass", async () => {
    expect(await threeSends(limiterAnswering([0, 1500]))).toEqual([
      { code: 'RATE_LIMITED', retryAfterMs: 1500 },
      { code: 'RATE_LIMITED', retryAfterMs: 1500 },
      { code: 'RATE_LIMITED', retryAfterMs: 1500 },
    ]);
    expect(await threeSends(limiterAnswering([1, 0]))).toEqual([undefined, undefined, undefined]);
  });
});
