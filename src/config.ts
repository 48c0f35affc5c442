// The one place that reads process.env. Every variable is validated here so a
// bad deployment fails at start with a message naming the variable.
import { z } from 'zod';
import { RATE_LIMITED_ACTIONS, type RateLimitedAction, type RateRules } from './rateLimit.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Used only outside production, so `npm start` works with no setup. */
const DEVELOPMENT_JWT_SECRET = 'development-only-secret-do-not-use-in-production';

/** Default rate limits: a burst, then a steady rate per second. */
const DEFAULT_RATE_RULES: RateRules = {
  sendMessage: { burst: 30, perSecond: 5 },
  setTyping: { burst: 10, perSecond: 2 },
  reaction: { burst: 30, perSecond: 5 },
  // Each change makes every subscriber concerned reload members and contacts: far rarer than messages.
  membershipChange: { burst: 20, perSecond: 0.5 },
  signUpPerIp: { burst: 10, perSecond: 0.05 },
  logInPerIp: { burst: 30, perSecond: 0.5 },
  logInPerUsername: { burst: 10, perSecond: 0.1 },
  connectPerIp: { burst: 30, perSecond: 3 },
  subscribePerSocket: { burst: 200, perSecond: 20 },
};

/** RATE_LIMIT_SEND_MESSAGE for sendMessage, and so on. */
export function rateLimitVariable(action: RateLimitedAction): string {
  return `RATE_LIMIT_${action.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase()}`;
}

const rateRulePattern = /^\s*(\d+)\s*,\s*(\d+(?:\.\d+)?)\s*$/;

const durationPattern = /^(\d+)\s*(s|m|h|d)?$/;
const durationUnits = { s: 1, m: 60, h: 3600, d: 86400 } as const;

const environmentSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATABASE_URL: z
    .string()
    .refine((url) => /^mysql:\/\/.+/.test(url), 'must be mysql://user:pass@host:port/database')
    .optional(),
  SQLITE_PATH: z.string().min(1).default('./data/chat.sqlite'),
  REDIS_URL: z
    .string()
    .refine((url) => /^rediss?:\/\/.+/.test(url), 'must be redis://host:port')
    .optional(),
  REDIS_CLUSTER_NODES: z
    .string()
    .transform((list) =>
      list
        .split(',')
        .map((node) => node.trim())
        .filter(Boolean),
    )
    .refine(
      (nodes) => nodes.length > 0 && nodes.every((node) => /^[^\s:/]+:\d{1,5}$/.test(node)),
      'must be a comma-separated list of host:port',
    )
    .optional(),
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[\w:.-]{1,64}$/, 'must be 1 to 64 of letters, digits, _ : . -')
    .default('chat:'),
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  TOKEN_TTL: z.string().regex(durationPattern, 'must be a duration such as 3600, 90m, 12h or 7d').default('7d'),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  EXPOSE_SCHEMA: z.enum(['true', 'false']).optional(),
  SERVER_TIMING: z.enum(['true', 'false']).optional(),
  TRUST_PROXY: z.coerce.number().int().min(0).max(10).default(0),
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  ...Object.fromEntries(
    RATE_LIMITED_ACTIONS.map((action) => [
      rateLimitVariable(action),
      z
        .string()
        .regex(rateRulePattern, 'must be "burst,perSecond", e.g. "30,5"')
        .refine(
          (text) => Number(rateRulePattern.exec(text)![1]) >= 1 && Number(rateRulePattern.exec(text)![2]) > 0,
          'burst must be at least 1 and the rate above 0',
        )
        .optional(),
    ]),
  ),
  ALLOWED_ORIGINS: z
    .string()
    .transform((list) =>
      list
        .split(',')
        .map((origin) => origin.trim())
        .filter(Boolean),
    )
    .refine(
      (origins) => origins.every((origin) => /^https?:\/\/[^/]+$/.test(origin)),
      'must be a comma-separated list of origins such as https://chat.example.com',
    )
    .default([]),
});

export type Config = {
  nodeEnv: 'development' | 'production' | 'test';
  port: number;
  host: string;
  database: { kind: 'mysql'; url: string } | { kind: 'sqlite'; path: string };
  redisUrl: string | undefined;
  /** Seed nodes (host:port) of a Redis Cluster, used instead of REDIS_URL for every Redis use. */
  redisClusterNodes: string[] | undefined;
  /** Prefixes every Redis key and channel, so deployments can share a Redis. */
  redisKeyPrefix: string;
  jwtSecret: string;
  tokenTtlSeconds: number;
  logLevel: (typeof LOG_LEVELS)[number];
  /** Introspection, GraphiQL and field suggestions; off in production unless EXPOSE_SCHEMA=true. */
  exposeSchema: boolean;
  /** A Server-Timing header with the server's time on each response; off in production unless SERVER_TIMING=true. */
  serverTiming: boolean;
  /** How many proxies in front append to X-Forwarded-For; 0 trusts none and uses the socket address. */
  trustProxyHops: number;
  rateRules: RateRules;
  /** Browser origins besides the server's own that may open a WebSocket (localhost too outside production). */
  allowedOrigins: string[];
  /** /metrics on a listener of its own (0 picks a free port); undefined: on the public port when a token is set, else off. */
  metricsPort: number | undefined;
  /** A bearer token /metrics requires wherever it is served. */
  metricsToken: string | undefined;
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function parseDurationSeconds(text: string): number {
  const [, amount, unit] = durationPattern.exec(text.trim())!;
  return Number(amount) * durationUnits[(unit ?? 's') as keyof typeof durationUnits];
}

/** Reads and validates the environment; throws ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = environmentSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  const values = parsed.data;
  if (values.NODE_ENV === 'production' && !values.JWT_SECRET) {
    throw new ConfigError('Invalid configuration:\n  JWT_SECRET: required when NODE_ENV=production');
  }
  if (values.REDIS_URL && values.REDIS_CLUSTER_NODES) {
    throw new ConfigError('Invalid configuration:\n  REDIS_CLUSTER_NODES: set either REDIS_URL or REDIS_CLUSTER_NODES');
  }
  const tokenTtlSeconds = parseDurationSeconds(values.TOKEN_TTL);
  if (tokenTtlSeconds < 1) throw new ConfigError('Invalid configuration:\n  TOKEN_TTL: must be at least 1 second');

  return {
    nodeEnv: values.NODE_ENV,
    port: values.PORT,
    host: values.HOST,
    database: values.DATABASE_URL
      ? { kind: 'mysql', url: values.DATABASE_URL }
      : { kind: 'sqlite', path: values.SQLITE_PATH },
    redisUrl: values.REDIS_URL,
    redisClusterNodes: values.REDIS_CLUSTER_NODES,
    redisKeyPrefix: values.REDIS_KEY_PREFIX,
    jwtSecret: values.JWT_SECRET ?? DEVELOPMENT_JWT_SECRET,
    tokenTtlSeconds,
    logLevel: values.LOG_LEVEL,
    allowedOrigins: values.ALLOWED_ORIGINS,
    trustProxyHops: values.TRUST_PROXY,
    metricsPort: values.METRICS_PORT,
    metricsToken: values.METRICS_TOKEN,
    rateRules: Object.fromEntries(
      RATE_LIMITED_ACTIONS.map((action) => {
        const text = (values as Record<string, unknown>)[rateLimitVariable(action)] as string | undefined;
        const match = text ? rateRulePattern.exec(text)! : null;
        return [action, match ? { burst: Number(match[1]), perSecond: Number(match[2]) } : DEFAULT_RATE_RULES[action]];
      }),
    ) as RateRules,
    exposeSchema: values.EXPOSE_SCHEMA ? values.EXPOSE_SCHEMA === 'true' : values.NODE_ENV !== 'production',
    serverTiming: values.SERVER_TIMING ? values.SERVER_TIMING === 'true' : values.NODE_ENV !== 'production',
  };
}

/** True when the secret is the built-in development one, so start-up can warn about it. */
export function usesDevelopmentSecret(config: Config): boolean {
  return config.jwtSecret === DEVELOPMENT_JWT_SECRET;
}
