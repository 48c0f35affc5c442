// The one place that reads process.env. Every variable is validated here so a
// bad deployment fails at start with a message naming the variable.
import { dirname, join } from 'node:path';
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
  pushRegistration: { burst: 10, perSecond: 0.1 },
  // Each upload is stored and, for an image, decoded and re-encoded: ten files a message, a message every few seconds.
  upload: { burst: 30, perSecond: 0.5 },
  // A model request costs money or GPU time: ten questions at once, then one every 10 s (per user) or 5 s (per conversation).
  assistantPerUser: { burst: 10, perSecond: 0.1 },
  assistantPerConversation: { burst: 20, perSecond: 0.2 },
};

/** RATE_LIMIT_SEND_MESSAGE for sendMessage, and so on. */
export function rateLimitVariable(action: RateLimitedAction): string {
  return `RATE_LIMIT_${action.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase()}`;
}

const rateRulePattern = /^\s*(\d+)\s*,\s*(\d+(?:\.\d+)?)\s*$/;

const durationPattern = /^(\d+)\s*(s|m|h|d)?$/;
const durationUnits = { s: 1, m: 60, h: 3600, d: 86400 } as const;

// Web Push (issue #13). The VAPID keys are generated on first start and kept
// in the database unless both are given here.
const pushEnvironment = {
  PUSH_ENABLED: z.enum(['true', 'false']).default('true'),
  PUSH_VAPID_PUBLIC_KEY: z
    .string()
    .regex(/^[A-Za-z0-9_-]{87}$/, 'must be an uncompressed P-256 public key, base64url (87 characters)')
    .optional(),
  PUSH_VAPID_PRIVATE_KEY: z
    .string()
    .regex(/^[A-Za-z0-9_-]{43}$/, 'must be a P-256 private key, base64url (43 characters)')
    .optional(),
  PUSH_VAPID_SUBJECT: z
    .string()
    .regex(/^(mailto:.+|https:\/\/.+)$/, 'must be a mailto: or https: URL')
    .default('mailto:push@chat.invalid'),
  PUSH_ALLOW_LOOPBACK: z.enum(['true', 'false']).default('false'),
  PUSH_DELAY_MS: z.coerce.number().int().min(0).max(60_000).default(2_000),
  PUSH_PREVIEW: z.enum(['true', 'false']).default('true'),
  PUSH_ENDPOINT_HOSTS: z
    .string()
    .transform((list) =>
      list
        .split(',')
        .map((host) => host.trim().toLowerCase())
        .filter(Boolean),
    )
    .default([]),
};

export type PushConfig = {
  /** False: no VAPID key is offered and nothing is pushed. */
  enabled: boolean;
  /** Both keys from the environment (base64url), or null to use the pair stored in the database. */
  vapidKeys: { publicKey: string; privateKey: string } | null;
  /** The contact the push services see in the VAPID JWT (`sub`). */
  vapidSubject: string;
  /** Plain-http endpoints on 127.0.0.1/localhost are accepted (tests, local push services). */
  allowLoopback: boolean;
  /** A member who reads a message (or comes online) within this time is not pushed. */
  delayMs: number;
  /** False: the payload's body is null, so message text never transits push services. */
  preview: boolean;
  /** Endpoint hosts accepted (a leading dot allows subdomains); empty accepts any. */
  endpointHosts: string[];
};

function pushConfig(values: z.infer<typeof environmentSchema>): PushConfig {
  const publicKey = values.PUSH_VAPID_PUBLIC_KEY;
  const privateKey = values.PUSH_VAPID_PRIVATE_KEY;
  if ((publicKey === undefined) !== (privateKey === undefined)) {
    throw new ConfigError(
      'Invalid configuration:\n  PUSH_VAPID_PUBLIC_KEY, PUSH_VAPID_PRIVATE_KEY: set both or neither',
    );
  }
  return {
    enabled: values.PUSH_ENABLED === 'true',
    vapidKeys: publicKey && privateKey ? { publicKey, privateKey } : null,
    vapidSubject: values.PUSH_VAPID_SUBJECT,
    allowLoopback: values.PUSH_ALLOW_LOOPBACK === 'true',
    delayMs: values.PUSH_DELAY_MS,
    preview: values.PUSH_PREVIEW === 'true',
    endpointHosts: values.PUSH_ENDPOINT_HOSTS,
  };
}

// The assistant (issue #14): an OpenAI-compatible chat-completions endpoint.
// Without AI_BASE_URL and AI_MODEL there is no assistant.
const assistantEnvironment = {
  AI_BASE_URL: z
    .string()
    .url()
    .refine((url) => /^https?:\/\//.test(url), 'must be an http(s) URL such as http://localhost:11434/v1')
    .optional(),
  AI_MODEL: z.string().min(1).max(200).optional(),
  AI_API_KEY: z.string().min(1).optional(),
  AI_BOT_USERNAME: z
    .string()
    .regex(/^[a-z0-9_]{3,32}$/, 'must be 3 to 32 characters of a-z, 0-9 and _')
    .default('assistant'),
  AI_DISPLAY_NAME: z.string().trim().min(1).max(64).default('Assistant'),
  AI_SYSTEM_PROMPT: z.string().min(1).max(20_000).optional(),
  AI_MAX_INPUT_TOKENS: z.coerce.number().int().min(100).max(1_000_000).default(4_000),
  AI_MAX_OUTPUT_TOKENS: z.coerce.number().int().min(1).max(100_000).default(1_024),
  AI_TIMEOUT: z.string().regex(durationPattern, 'must be a duration such as 60, 90s or 2m').default('60s'),
};

export type AssistantConfig = {
  /** The OpenAI-compatible endpoint, ".../v1". */
  baseUrl: string;
  model: string;
  apiKey: string | undefined;
  /** The bot user that answers. */
  username: string;
  displayName: string;
  /** Null: the built-in one (assistant/prompt.ts). */
  systemPrompt: string | null;
  /** The prompt (system prompt and conversation) is cut to about this many tokens. */
  maxInputTokens: number;
  /** max_tokens of each request. */
  maxOutputTokens: number;
  /** The longest the model may stay silent (before its first token, or between two) before the answer fails. */
  timeoutMs: number;
};

function assistantConfig(values: z.infer<typeof environmentSchema>): AssistantConfig | null {
  if ((values.AI_BASE_URL === undefined) !== (values.AI_MODEL === undefined)) {
    throw new ConfigError('Invalid configuration:\n  AI_BASE_URL, AI_MODEL: set both (the assistant) or neither');
  }
  if (!values.AI_BASE_URL || !values.AI_MODEL) return null;
  const timeoutSeconds = parseDurationSeconds(values.AI_TIMEOUT);
  if (timeoutSeconds < 1) throw new ConfigError('Invalid configuration:\n  AI_TIMEOUT: must be at least 1 second');
  return {
    baseUrl: values.AI_BASE_URL.replace(/\/+$/, ''),
    model: values.AI_MODEL,
    apiKey: values.AI_API_KEY,
    username: values.AI_BOT_USERNAME,
    displayName: values.AI_DISPLAY_NAME,
    systemPrompt: values.AI_SYSTEM_PROMPT ?? null,
    maxInputTokens: values.AI_MAX_INPUT_TOKENS,
    maxOutputTokens: values.AI_MAX_OUTPUT_TOKENS,
    timeoutMs: timeoutSeconds * 1000,
  };
}

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
  ...pushEnvironment,
  // File sharing (issue #12): see the README's configuration table.
  MAX_UPLOAD_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(2_000_000_000)
    .default(25 * 1024 * 1024),
  ATTACHMENT_STORAGE: z.enum(['local', 's3']).default('local'),
  ATTACHMENTS_DIR: z.string().min(1).optional(),
  ATTACHMENT_URL_TTL: z.string().regex(durationPattern, 'must be a duration such as 900, 15m or 1h').default('55m'),
  S3_BUCKET: z.string().min(1).optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_ENDPOINT: z.string().url().optional(),
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  S3_FORCE_PATH_STYLE: z.enum(['true', 'false']).optional(),
  // Bot webhooks (issue #14): see the README's configuration table.
  WEBHOOKS_ENABLED: z.enum(['true', 'false']).default('true'),
  WEBHOOK_ALLOW_PRIVATE: z.enum(['true', 'false']).default('false'),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  WEBHOOK_RETRY_BASE_MS: z.coerce.number().int().min(10).max(3_600_000).default(5_000),
  ...assistantEnvironment,
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
  push: PushConfig;
  attachments: AttachmentConfig;
  /** /metrics on a listener of its own (0 picks a free port); undefined: on the public port when a token is set, else off. */
  metricsPort: number | undefined;
  /** A bearer token /metrics requires wherever it is served. */
  metricsToken: string | undefined;
  /** The AI assistant, or null when AI_BASE_URL/AI_MODEL are unset. */
  assistant: AssistantConfig | null;
  webhooks: WebhookConfig;
};

export type WebhookConfig = {
  /** False: this instance delivers no webhooks (another instance does; nothing is lost, they wait in the log). */
  enabled: boolean;
  /** Loopback, private and other non-public webhook targets are allowed (tests, a bot on the same network). */
  allowPrivate: boolean;
  /** An attempt with no answer within this time is retried. */
  timeoutMs: number;
  /** The first retry's delay, multiplied for each further one. */
  retryBaseMs: number;
};

export type AttachmentConfig = {
  /** Largest file uploadAttachment accepts (Query.limits.maxUploadBytes). */
  maxUploadBytes: number;
  /** Where the bytes go: a folder on this machine, or an S3-compatible bucket (several instances). */
  storage:
    | { driver: 'local'; directory: string }
    | {
        driver: 's3';
        bucket: string;
        region: string;
        endpoint: string | undefined;
        forcePathStyle: boolean;
        credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
      };
  /** How long a signed download URL works at least. */
  urlTtlSeconds: number;
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
  if (values.ATTACHMENT_STORAGE === 's3' && !values.S3_BUCKET) {
    throw new ConfigError('Invalid configuration:\n  S3_BUCKET: required when ATTACHMENT_STORAGE=s3');
  }
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
    push: pushConfig(values),
    webhooks: {
      enabled: values.WEBHOOKS_ENABLED === 'true',
      allowPrivate: values.WEBHOOK_ALLOW_PRIVATE === 'true',
      timeoutMs: values.WEBHOOK_TIMEOUT_MS,
      retryBaseMs: values.WEBHOOK_RETRY_BASE_MS,
    },
    assistant: assistantConfig(values),
    attachments: {
      maxUploadBytes: values.MAX_UPLOAD_BYTES,
      storage:
        values.ATTACHMENT_STORAGE === 's3'
          ? {
              driver: 's3',
              bucket: values.S3_BUCKET!,
              region: values.S3_REGION,
              endpoint: values.S3_ENDPOINT,
              forcePathStyle: values.S3_FORCE_PATH_STYLE === 'true',
              credentials:
                values.S3_ACCESS_KEY_ID && values.S3_SECRET_ACCESS_KEY
                  ? { accessKeyId: values.S3_ACCESS_KEY_ID, secretAccessKey: values.S3_SECRET_ACCESS_KEY }
                  : undefined,
            }
          : { driver: 'local', directory: values.ATTACHMENTS_DIR ?? join(dirname(values.SQLITE_PATH), 'attachments') },
      urlTtlSeconds: Math.max(60, parseDurationSeconds(values.ATTACHMENT_URL_TTL)),
    },
  };
}

/** True when the secret is the built-in development one, so start-up can warn about it. */
export function usesDevelopmentSecret(config: Config): boolean {
  return config.jwtSecret === DEVELOPMENT_JWT_SECRET;
}
