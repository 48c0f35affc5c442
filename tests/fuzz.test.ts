// A seeded, deterministic fuzzer for the public API. Every argument of every
// Query and Mutation field in schema.graphql (walked with graphql-js, so new
// fields are covered without touching this file), and every argument of every
// Subscription field over WebSocket, is fed hostile values: random, huge and
// invalid-unicode strings, wrong types, nulls, malformed IDs and cursors and
// deeply nested objects, as variables and as inline literals, by a signed-in
// member of real conversations (so plausible IDs reach deep code paths) and by
// no one. Whatever it sends, the server must answer below 500, in JSON, with
// errors that carry a contract code and reveal nothing of its internals, and it
// must go on serving. Raw sockets then send malformed frames: each must end in
// a protocol close code or an error for that operation, never a crash.
//
// The seed is fixed (FUZZ_SEED overrides it) and printed with every failure:
// the same seed sends the same requests.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  buildSchema,
  getNamedType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLOutputType,
  isInputObjectType,
  isInterfaceType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGroup, data, openDirect, send, signUp, type TestUser } from './helpers/client.js';
import { type DatabaseKind, startServer, type TestServer } from './helpers/server.js';
import { connect, rawSocket, subscribe } from './helpers/ws.js';

const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed_c4a7);

/** The codes the contract (and the GraphQL-over-HTTP layer) may answer with; INTERNAL_SERVER_ERROR is not one. */
const ALLOWED_CODES = new Set([
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'BAD_USER_INPUT',
  'CONFLICT',
  'RATE_LIMITED',
  'PAYLOAD_TOO_LARGE',
  'GRAPHQL_VALIDATION_FAILED',
  'GRAPHQL_PARSE_FAILED',
  'BAD_REQUEST',
]);

/**
 * Close codes that end a misbehaving socket as the protocol says: graphql-ws's
 * 4400 Bad Request, 4401 Unauthorized, 4403 Forbidden, 4406 subprotocol,
 * 4408 init timeout, 4409 duplicate id, 4429 second init; RFC 6455's 1002
 * protocol error, 1003 unsupported data, 1007 invalid UTF-8, 1008 policy,
 * 1009 too big. Not 4500 (internal error), 1011 or 1006 (no close frame).
 */
const PROTOCOL_CLOSE_CODES = new Set([4400, 4401, 4403, 4406, 4408, 4409, 4429, 1002, 1003, 1007, 1008, 1009]);

const SCHEMA = buildSchema(readFileSync(fileURLToPath(new URL('../schema.graphql', import.meta.url)), 'utf8'));

/** "1 MB": big, yet a request carrying it stays under the server's 1 MiB body limit and reaches the parsers. */
const MEGABYTE = 1_000_000;
/** No single request may take longer than this: a hang is a failure, not a slow answer. */
const REQUEST_TIMEOUT_MS = 30_000;
const CONCURRENCY = 6;
/** Mutations after whose barrage the owner logs in again. */
const SESSION_ENDING = new Set(['logOut', 'logOutEverywhere', 'changePassword']);

// ---------------------------------------------------------------------------
// Determinism

/** mulberry32: a tiny, fast, well-mixed 32-bit PRNG. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rng = () => number;
const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)]!;
const chance = (rng: Rng, p: number) => rng() < p;

/** A stable sub-seed per name, so adding a field does not change the values sent to the others. */
function seedFor(name: string): number {
  let hash = SEED ^ 0x811c9dc5;
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

// ---------------------------------------------------------------------------
// Values and how they are written

/**
 * Text written as is: `json` into the variables (a string, or raw bytes that
 * are not valid UTF-8), `literal` into the GraphQL document. A null side means
 * the value exists only in the other mode.
 */
class Verbatim {
  constructor(
    readonly json: string | Buffer | null,
    readonly literal: string | null,
  ) {}
}

/** The argument (or input field) is left out of the operation altogether. */
const OMITTED = Symbol('omitted');
/** The variable is declared and used but absent from the variables object. */
const UNSET = Symbol('unset');

type Value = unknown;
type Fuzz = {
  label: string;
  value: Value;
  /** In variables mode, declare the variable with this type instead. */
  declare?: string;
  /** About 1 MB: always sent signed in, so that it reaches the resolvers. */
  huge?: boolean;
};
type Chunk = string | Buffer;

function jsonChunks(value: Value): Chunk[] {
  if (value instanceof Verbatim) return [value.json ?? 'null'];
  if (Array.isArray(value)) {
    const out: Chunk[] = ['['];
    value.forEach((item, index) => out.push(...(index ? [','] : []), ...jsonChunks(item)));
    return [...out, ']'];
  }
  if (value !== null && typeof value === 'object') {
    const out: Chunk[] = ['{'];
    let first = true;
    for (const [key, item] of Object.entries(value)) {
      if (item === OMITTED || item === UNSET) continue;
      out.push(first ? '' : ',', JSON.stringify(key), ':', ...jsonChunks(item));
      first = false;
    }
    return [...out, '}'];
  }
  return [JSON.stringify(value) ?? 'null'];
}

function literal(value: Value): string {
  if (value instanceof Verbatim) return value.literal ?? 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  if (Array.isArray(value)) return `[${value.map(literal).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, item]) => item !== OMITTED && item !== UNSET);
    return `{${entries.map(([key, item]) => `${key}: ${literal(item)}`).join(', ')}}`;
  }
  return String(value);
}

/** Whether a value carries bytes that are not UTF-8. */
function hasRawBytes(value: Value): boolean {
  if (value instanceof Verbatim) return value.json instanceof Buffer;
  if (Array.isArray(value)) return value.some(hasRawBytes);
  if (value !== null && typeof value === 'object') return Object.values(value).some(hasRawBytes);
  return false;
}

/** Whether a value can be written in a mode at all. */
function writable(value: Value, mode: 'variables' | 'inline'): boolean {
  if (value instanceof Verbatim) return (mode === 'variables' ? value.json : value.literal) !== null;
  if (Array.isArray(value)) return value.every((item) => writable(item, mode));
  if (value !== null && typeof value === 'object') return Object.values(value).every((item) => writable(item, mode));
  return true;
}

/** Every string inside a value: the server may echo them in messages, which must not count as leaks. */
function stringsIn(value: Value, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (value instanceof Verbatim) {
    if (typeof value.json === 'string') out.push(value.json);
    if (value.literal) out.push(value.literal);
  } else if (Array.isArray(value)) value.forEach((item) => stringsIn(item, out));
  else if (value !== null && typeof value === 'object') Object.values(value).forEach((item) => stringsIn(item, out));
  return out;
}

const nested = (depth: number) =>
  new Verbatim('{"a":'.repeat(depth) + '1' + '}'.repeat(depth), '{a: '.repeat(depth) + '1' + '}'.repeat(depth));
const nestedList = (depth: number) => new Verbatim('['.repeat(depth) + '1' + ']'.repeat(depth), null);
/** A JSON string whose bytes are not UTF-8 (overlong encodings, surrogates, > U+10FFFF, 0xFF). */
const rawBytes = (...bytes: number[]) => new Verbatim(Buffer.from([0x22, ...bytes, 0x22]), null);
/** A JSON escape that decodes to a lone surrogate or NUL; inline, GraphQL must refuse or accept it, never crash. */
const escaped = (text: string) => new Verbatim(`"${text}"`, `"${text}"`);

const b64 = (text: string) => Buffer.from(text).toString('base64');
const b64url = (text: string) => Buffer.from(text).toString('base64url');

const UNICODE = [
  'é',
  'ß',
  'İ',
  'K', // Kelvin sign: lower-cases to ASCII k
  'ﬃ',
  'Σ',
  'ς',
  '中',
  '😀',
  '👍🏽',
  '👨‍👩‍👧‍👦',
  '🇫🇷',
  '\u200b',
  '\u200d',
  '\ufeff',
  '\u202e',
  '\u2028',
  '\u0301',
  '\u0000',
  '\u0007',
  '\u001b',
  '\u007f',
  '\ufffd',
  '\uffff',
  '𝕏',
  '\ud800',
  '\udfff',
];
const ASCII = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i));

function randomString(rng: Rng, maxLength: number): string {
  const alphabet = pick(rng, [ASCII, UNICODE, [...ASCII, ...UNICODE], ['a', 'b', '_', '0', '9', 'Z']]);
  const length = Math.floor(rng() * maxLength);
  let text = '';
  for (let i = 0; i < length; i++) text += pick(rng, alphabet);
  return text;
}

/** A random JSON-ish value of any type, a few levels deep. */
function randomValue(rng: Rng, depth = 3): Value {
  const kind = Math.floor(rng() * (depth > 0 ? 9 : 6));
  switch (kind) {
    case 0:
      return null;
    case 1:
      return chance(rng, 0.5);
    case 2:
      return Math.floor((rng() - 0.5) * 2 ** Math.floor(rng() * 60));
    case 3:
      return (rng() - 0.5) * 10 ** Math.floor(rng() * 30);
    case 4:
    case 5:
      return randomString(rng, 40);
    case 6:
      return Array.from({ length: Math.floor(rng() * 4) }, () => randomValue(rng, depth - 1));
    default: {
      const object: Record<string, Value> = {};
      for (let i = Math.floor(rng() * 4); i > 0; i--)
        object[pick(rng, ['a', 'id', 'input', 'body', '__proto__', 'x y'])] = randomValue(rng, depth - 1);
      return object;
    }
  }
}

// ---------------------------------------------------------------------------
// The world a fuzzed request lands in

type World = {
  owner: TestUser;
  other: TestUser;
  third: TestUser;
  /** Owner and other. */
  direct: string;
  /** Owner, other and third. */
  group: string;
  /** A group only leaveConversation aims at, so other fields keep their group. */
  leavable: string;
  /** Other and third: the owner is not a member. */
  foreign: string;
  ownMessages: string[];
  othersMessage: string;
  deletedMessage: string;
  foreignMessage: string;
  messageCursor: string;
  eventCursor: string;
  userCursor: string;
  conversationCursor: string;
};

const HISTORY =
  'query ($id: ID!) { messages(conversationId: $id, first: 10) { eventCursor edges { cursor node { id } } } }';

async function buildWorld(url: string): Promise<World> {
  const [owner, other, third] = await Promise.all([
    // A fresh database per run: fixed names keep every request the seed decides the same.
    signUp(url, 'fuzz_owner'),
    signUp(url, 'fuzz_other'),
    signUp(url, 'fuzz_third'),
  ]);
  const direct = await openDirect(url, owner, other);
  const group = await createGroup(url, owner, [other, third], 'Fuzz group');
  const leavable = await createGroup(url, owner, [other], 'Leave me');
  const foreign = await openDirect(url, other, third);
  const ownMessages: string[] = [];
  for (let i = 0; i < 6; i++) ownMessages.push((await send(url, owner, i % 2 ? group : direct, `seed ${i}`)).id);
  const othersMessage = (await send(url, other, direct, 'from other')).id;
  const deletedMessage = (await send(url, owner, direct, 'to delete')).id;
  await data(url, 'mutation ($id: ID!) { deleteMessage(messageId: $id) { id } }', { id: deletedMessage }, owner.token);
  const foreignMessage = (await send(url, other, foreign, 'private')).id;
  const page = (await data(url, HISTORY, { id: direct }, owner.token)).messages;
  const users = await data(url, '{ users(first: 2) { edges { cursor } } }', {}, owner.token);
  const conversations = await data(url, '{ conversations(first: 2) { edges { cursor } } }', {}, owner.token);
  return {
    owner,
    other,
    third,
    direct,
    group,
    leavable,
    foreign,
    ownMessages,
    othersMessage,
    deletedMessage,
    foreignMessage,
    messageCursor: page.edges[0].cursor,
    eventCursor: page.eventCursor,
    userCursor: users.users.edges[0].cursor,
    conversationCursor: conversations.conversations.edges[0].cursor,
  };
}

/** A valid value for an argument or input field, so that fuzzing one argument leaves the others plausible. */
function baseline(world: World, field: string, name: string, type: GraphQLInputType, rng: Rng): Value {
  switch (name) {
    case 'conversationId':
      if (field === 'leaveConversation') return world.leavable;
      if (field === 'addMembers') return world.group;
      return pick(rng, [world.direct, world.group]);
    case 'messageId':
      return field === 'deleteMessage'
        ? pick(rng, world.ownMessages.slice(4))
        : pick(rng, world.ownMessages.slice(0, 4));
    case 'userId':
      return world.other.id;
    case 'userIds':
    case 'memberIds':
      return [world.third.id];
    case 'id':
      if (field === 'conversation') return world.direct;
      if (field === 'user') return world.other.id;
      return pick(rng, [world.direct, world.other.id, world.ownMessages[0]!]);
    case 'username':
      return field === 'logIn' ? world.owner.username : `fz_${Math.floor(rng() * 2 ** 32).toString(36)}`;
    case 'password':
      return 'correct horse battery';
    case 'displayName':
      return 'Fuzz Display';
    case 'title':
      return 'Fuzz title';
    case 'body':
      return 'fuzz body';
    case 'clientMessageId':
      return `fuzz-${Math.floor(rng() * 2 ** 32).toString(36)}`;
    case 'emoji':
      return pick(rng, ['👍', '🎉', '❤️']);
    case 'typing':
      return true;
    case 'search':
      return 'fuzz';
  }
  const inner = isNonNullType(type) ? type.ofType : type;
  if (isListType(inner)) return [];
  if (isInputObjectType(inner)) {
    const object: Record<string, Value> = {};
    for (const inputField of Object.values(inner.getFields())) {
      if (isNonNullType(inputField.type))
        object[inputField.name] = baseline(world, field, inputField.name, inputField.type, rng);
    }
    return object;
  }
  switch (getNamedType(inner).name) {
    case 'Int':
      return 5;
    case 'Boolean':
      return true;
    case 'ID':
      return world.direct;
    default:
      return 'fuzz';
  }
}

/** Malformed and out-of-place IDs: wrong type, zero, negative, huge, non-numeric, padded, not base64 at all. */
function idValues(world: World, rng: Rng): Fuzz[] {
  const wrong = ['Conversation', 'Message', 'User', 'Node', 'Nope', 'conversation', ''];
  const numbers = [
    '0',
    '-1',
    '1.5',
    '1e3',
    ' 1',
    '01',
    '0x1',
    '9007199254740991',
    '9007199254740993',
    '99999999999999999999',
    '',
    'abc',
    '1;2',
    '1 OR 1=1',
  ];
  const ids: Fuzz[] = [
    { label: 'another user id', value: world.third.id },
    { label: "another member's message", value: world.othersMessage },
    { label: 'a deleted message', value: world.deletedMessage },
    { label: 'a foreign conversation', value: world.foreign },
    { label: 'a foreign message', value: world.foreignMessage },
    { label: 'an id of the other kind', value: pick(rng, [world.direct, world.ownMessages[0]!, world.owner.id]) },
    { label: 'valid id + padding garbage', value: `${world.direct}=x` },
    { label: 'valid id, base64url', value: world.direct.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_') },
    { label: 'valid id, doubled', value: world.direct + world.direct },
    { label: 'not base64', value: '!!!***%%%' },
    { label: 'long base64', value: b64(`Conversation:${'1'.repeat(5000)}`) },
    { label: 'integer id', value: 1 },
    { label: 'negative integer id', value: -1 },
    { label: 'huge integer id', value: 1e20 },
    { label: 'float id', value: 1.5 },
  ];
  for (let i = 0; i < 6; i++) {
    const text = `${pick(rng, wrong)}:${pick(rng, numbers)}`;
    ids.push({ label: `id of ${JSON.stringify(text)}`, value: pick(rng, [b64, b64url])(text) });
  }
  return ids;
}

function cursorValues(world: World, rng: Rng): Fuzz[] {
  const kinds = ['message', 'event', 'user', 'conversation', 'Message', ''];
  const numbers = [
    '1',
    '0',
    '-1',
    '01',
    '1.0',
    '1e3',
    '9007199254740991',
    '9007199254740992',
    '99999999999999999',
    '',
    'x',
    ' 1',
  ];
  const cursors: Fuzz[] = [
    { label: 'a message cursor', value: world.messageCursor },
    { label: 'an event cursor', value: world.eventCursor },
    { label: 'a user cursor', value: world.userCursor },
    { label: 'a conversation cursor', value: world.conversationCursor },
    { label: 'cursor with padding', value: `${world.messageCursor}==` },
    { label: 'cursor, standard base64', value: b64('message:1') },
    { label: 'cursor of 700,000 digits', value: b64url(`message:${'9'.repeat(700_000)}`) },
  ];
  for (let i = 0; i < 6; i++) {
    const text = `${pick(rng, kinds)}:${pick(rng, numbers)}`;
    cursors.push({ label: `cursor of ${JSON.stringify(text)}`, value: pick(rng, [b64url, b64])(text) });
  }
  return cursors;
}

function stringValues(rng: Rng): Fuzz[] {
  return [
    { label: 'empty', value: '' },
    { label: 'whitespace', value: ' \t\n\r ' },
    { label: 'lone high surrogate (escape)', value: escaped('\\uD800') },
    { label: 'lone low surrogate in text (escape)', value: escaped('a\\udfffb') },
    { label: 'reversed surrogate pair (escape)', value: escaped('\\udc00\\ud800') },
    { label: 'NUL (escape)', value: escaped('a\\u0000b') },
    { label: 'overlong slash bytes', value: rawBytes(0xc0, 0xaf) },
    { label: 'overlong 3-byte bytes', value: rawBytes(0xe0, 0x80, 0xaf) },
    { label: 'CESU surrogate bytes', value: rawBytes(0xed, 0xa0, 0x80) },
    { label: 'beyond U+10FFFF bytes', value: rawBytes(0xf4, 0x90, 0x80, 0x80) },
    { label: '0xFF 0xFE bytes', value: rawBytes(0x61, 0xff, 0xfe, 0x62) },
    { label: 'control characters', value: '\u0001\u0002\u001f\u007f' },
    { label: 'quotes and escapes', value: `'"\`\\%_!;--/*` },
    { label: 'SQL-ish', value: "' OR '1'='1'; DROP TABLE users; --" },
    { label: 'LIKE wildcards', value: '%_%!_!%' },
    { label: 'format string', value: '%s%n%x%d${x}{{x}}' },
    { label: 'Kelvin and dotted I', value: 'Kİß' },
    { label: 'emoji sequence', value: '👨‍👩‍👧‍👦🇫🇷👍🏽' },
    { label: 'RTL override', value: '\u202euser\u202c' },
    { label: '64 characters', value: 'a'.repeat(64) },
    { label: '65 characters', value: 'a'.repeat(65) },
    { label: '4000 emoji', value: '😀'.repeat(4000) },
    { label: '4001 characters', value: 'b'.repeat(4001) },
    // One huge string per target (the seed picks which): enough to find what breaks, cheap enough for npm test.
    pick(rng, [
      { label: 'x and 1 MB of spaces', value: `x${' '.repeat(MEGABYTE)}`, huge: true },
      { label: '1 MB string', value: 'z'.repeat(MEGABYTE), huge: true },
      { label: '1 MB of emoji', value: '😀'.repeat(MEGABYTE / 4), huge: true },
    ]),
    ...Array.from({ length: 2 }, (_, i) => ({ label: `random string ${i}`, value: randomString(rng, 80) })),
  ];
}

function intValues(): Fuzz[] {
  return [
    { label: '0', value: 0 },
    { label: '-1', value: -1 },
    { label: '101', value: 101 },
    { label: '2^31 - 1', value: 2 ** 31 - 1 },
    { label: '2^31', value: 2 ** 31 },
    { label: '-2^31 - 1', value: -(2 ** 31) - 1 },
    { label: '2^53 + 2', value: 2 ** 53 + 2 },
    { label: '1.5', value: 1.5 },
    { label: '1e400', value: new Verbatim('1e400', '1e400') },
    { label: '-0', value: new Verbatim('-0', '-0') },
    { label: '1.0', value: new Verbatim('1.0', '1.0') },
    { label: 'hex', value: new Verbatim(null, '0x10') },
    { label: 'string "1"', value: '1' },
  ];
}

/** The values sent to one argument or input field. */
function fuzzValues(world: World, name: string, type: GraphQLInputType, rng: Rng): Fuzz[] {
  const inner = isNonNullType(type) ? type.ofType : type;
  const values: Fuzz[] = [
    { label: 'null', value: null },
    { label: 'omitted', value: OMITTED },
    { label: 'declared but unset', value: UNSET },
    { label: 'true', value: true },
    { label: 'number', value: 42 },
    { label: 'float', value: -3.25 },
    { label: 'string', value: 'fuzz' },
    { label: 'empty object', value: {} },
    { label: 'object', value: { a: 1, b: [true] } },
    {
      label: 'prototype keys',
      value: new Verbatim('{"__proto__":{"admin":true},"constructor":{"prototype":{}}}', null),
    },
    { label: 'empty list', value: [] },
    { label: 'nested lists', value: nestedList(64) },
    { label: 'object nested 2000 deep', value: nested(2_000) },
    {
      label: 'object nested 20,000 deep',
      value: new Verbatim('{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000), null),
    },
    {
      label: 'object nested 600 deep (inline, under the token limit)',
      value: new Verbatim(null, '{a: '.repeat(600) + '1' + '}'.repeat(600)),
    },
    { label: 'unknown enum-like name', value: new Verbatim(null, 'SOME_ENUM') },
    { label: 'undeclared variable', value: new Verbatim(null, '$undeclared') },
    {
      label: 'declared as another type',
      value: baseline(world, '', name, type, rng),
      declare: pick(rng, ['String', 'Int!', '[ID!]!', 'Boolean', 'SignUpInput', 'Nope', '[[String]]']),
    },
    ...Array.from({ length: 2 }, (_, i) => ({ label: `random value ${i}`, value: randomValue(rng) })),
  ];
  if (isListType(inner)) {
    values.push(
      { label: 'list with null', value: [null] },
      { label: 'list of objects', value: [{ id: world.third.id }] },
      { label: 'list of lists', value: [[world.third.id]] },
      { label: 'single id, not a list', value: world.third.id },
      { label: 'duplicates and the caller', value: [world.third.id, world.third.id, world.owner.id, world.other.id] },
      { label: 'malformed ids', value: idValues(world, rng).map((fuzz) => fuzz.value) },
      {
        label: '40,000 distinct well-formed ids',
        value: Array.from({ length: 40_000 }, (_, i) => b64(`User:${1_000_000 + i}`)),
      },
      { label: '1,001 copies of a member', value: Array.from({ length: 1_001 }, () => world.third.id) },
    );
    return values;
  }
  if (isInputObjectType(inner)) {
    const valid = baseline(world, '', name, type, rng) as Record<string, Value>;
    values.push(
      { label: 'unknown field', value: { ...valid, nope: 1 } },
      { label: 'required fields missing', value: {} },
      { label: 'list instead of object', value: [valid] },
      {
        label: 'fields nested 2000 deep',
        value: Object.fromEntries(Object.keys(valid).map((key) => [key, nested(2_000)])),
      },
      {
        label: 'prototype pollution',
        value: new Verbatim(`{"__proto__":${JSON.stringify(valid)},"constructor":{"prototype":{"x":1}}}`, null),
      },
    );
    return values;
  }
  const scalar = getNamedType(inner).name;
  if (scalar === 'String') values.push(...stringValues(rng));
  // IDs get their own malformed set, and half of the string values (the seed picks which), to keep the run short.
  if (scalar === 'ID') values.push(...idValues(world, rng), ...stringValues(rng).filter(() => chance(rng, 0.5)));
  if (/^(after|before)$/.test(name)) values.push(...cursorValues(world, rng));
  if (scalar === 'Int') values.push(...intValues());
  if (scalar === 'Boolean')
    values.push({ label: 'string "true"', value: 'true' }, { label: '1', value: 1 }, { label: '0', value: 0 });
  return values;
}

// ---------------------------------------------------------------------------
// Operations

type RootField = { operation: 'query' | 'mutation'; field: GraphQLField<unknown, unknown> };

function rootFields(): RootField[] {
  return [
    ...Object.values(SCHEMA.getQueryType()!.getFields()).map((field) => ({ operation: 'query' as const, field })),
    ...Object.values(SCHEMA.getMutationType()?.getFields() ?? {}).map((field) => ({
      operation: 'mutation' as const,
      field,
    })),
  ];
}

/** Leaf fields of the return type and one level below, so resolvers of nested fields run too. */
function selectionOf(type: GraphQLOutputType, depth = 2): string {
  const named = getNamedType(type);
  if (!isObjectType(named) && !isInterfaceType(named)) return '';
  const parts = ['__typename'];
  for (const field of Object.values(named.getFields())) {
    if (field.args.some((arg) => isNonNullType(arg.type))) continue;
    if (isLeafType(getNamedType(field.type))) parts.push(field.name);
    else if (depth > 1) parts.push(`${field.name} ${selectionOf(field.type, depth - 1)}`);
  }
  return `{ ${parts.join(' ')} }`;
}

/** A target: an argument, or one field of an input-object argument. */
type Target = { root: RootField; path: [string] | [string, string]; type: GraphQLInputType };

function targetsOf(root: RootField): Target[] {
  const targets: Target[] = [];
  for (const arg of root.field.args) {
    targets.push({ root, path: [arg.name], type: arg.type });
    const inner = getNamedType(arg.type);
    if (isInputObjectType(inner)) {
      for (const inputField of Object.values(inner.getFields())) {
        targets.push({ root, path: [arg.name, inputField.name], type: inputField.type });
      }
    }
  }
  return targets;
}

type Request = {
  label: string;
  body: Buffer;
  token?: string;
  /** Strings the request carries, which the server may quote back. */
  echoes: string[];
  /** Sent with Transfer-Encoding: chunked instead of a Content-Length. */
  chunked?: boolean;
};

/** The arguments of a root field: valid ones, with the target replaced by `fuzz`. */
function argumentsFor(world: World, target: Target, fuzz: Value, rng: Rng): Map<string, Value> {
  const args = new Map<string, Value>();
  for (const arg of target.root.field.args) {
    if (arg.name !== target.path[0]) {
      if (isNonNullType(arg.type)) args.set(arg.name, baseline(world, target.root.field.name, arg.name, arg.type, rng));
      continue;
    }
    if (target.path.length === 1) {
      args.set(arg.name, fuzz);
      continue;
    }
    const object = { ...(baseline(world, target.root.field.name, arg.name, arg.type, rng) as Record<string, Value>) };
    object[target.path[1]] = fuzz;
    args.set(arg.name, object);
  }
  return args;
}

function buildRequest(
  world: World,
  target: Target,
  fuzz: Fuzz,
  mode: 'variables' | 'inline',
  rng: Rng,
  token: string | undefined,
): Request {
  const { field, operation } = target.root;
  const args = argumentsFor(world, target, fuzz.value, rng);
  const selection = selectionOf(field.type);
  const typeOf = (name: string) => String(field.args.find((arg) => arg.name === name)!.type);
  const label = `${operation} ${field.name}(${target.path.join('.')}: ${fuzz.label}) as ${mode}${token ? '' : ', signed out'}`;
  const echoes = stringsIn(fuzz.value);
  if (mode === 'variables') {
    const used = [...args].filter(([, value]) => value !== OMITTED);
    const declared = used.map(
      ([name]) =>
        `$${name}: ${name === target.path[0] && target.path.length === 1 && fuzz.declare ? fuzz.declare : typeOf(name)}`,
    );
    const call = used.map(([name]) => `${name}: $${name}`);
    const query = `${operation} Fuzz${declared.length ? `(${declared.join(', ')})` : ''} { ${field.name}${call.length ? `(${call.join(', ')})` : ''} ${selection} }`;
    const variables: Record<string, Value> = Object.fromEntries(used.filter(([, value]) => value !== UNSET));
    const chunks = ['{"query":', JSON.stringify(query), ',"variables":', ...jsonChunks(variables), '}'];
    return { label, body: Buffer.concat(chunks.map((chunk) => Buffer.from(chunk))), token, echoes };
  }
  const call = [...args]
    .filter(([, value]) => value !== OMITTED && value !== UNSET)
    .map(([name, value]) => `${name}: ${literal(value)}`);
  const query = `${operation} { ${field.name}${call.length ? `(${call.join(', ')})` : ''} ${selection} }`;
  echoes.push(query);
  return { label, body: Buffer.from(JSON.stringify({ query })), token, echoes };
}

// ---------------------------------------------------------------------------
// What every answer must look like

const LEAKS: [string, RegExp][] = [
  ['a stack frame', /\bat\s+[\w$.<>[\] ]+\s\(|\bat\s+(?:file:|\/|node:)|\n\s+at\s/],
  ['a file path', /(?:^|[\s"'(])(?:\/[\w.@-]+){2,}|[A-Za-z]:\\|\.(?:ts|js|mjs|cjs):\d+|node_modules|file:\/\//],
  [
    'the ORM or the driver',
    /typeorm|QueryFailedError|EntityNotFound|EntityMetadata|better-sqlite|sqlite|mysql|mariadb|\bER_[A-Z_]{3,}|\berrno\b|sqlState|sqlMessage/i,
  ],
  ['SQL', /\b(?:select\s[\s\S]*\bfrom\b|insert\s+into\b|update\s+[`"\w]+\s+set\b|delete\s+from\b)|`\w+`\.`\w+`/i],
];
const LEAKY_KEYS = new Set([
  'stack',
  'stacktrace',
  'exception',
  'sql',
  'sqlMessage',
  'driverError',
  'parameters',
  'query',
]);

/** What is wrong with one error, if anything. */
function errorProblems(error: any, echoes: string[], allowInternal = false): string[] {
  const problems: string[] = [];
  const code = error?.extensions?.code;
  if (!(ALLOWED_CODES.has(code) || (allowInternal && code === 'INTERNAL_SERVER_ERROR'))) {
    problems.push(`error code ${JSON.stringify(code)}: ${String(error?.message).slice(0, 160)}`);
  }
  let text = JSON.stringify(error);
  // The server may quote what it was sent; those quotes are not leaks.
  for (const echo of echoes) {
    if (echo.length < 3) continue;
    for (const form of new Set([
      echo,
      JSON.stringify(echo).slice(1, -1),
      JSON.stringify(JSON.stringify(echo).slice(1, -1)).slice(1, -1),
    ])) {
      text = text.split(form).join('');
    }
  }
  for (const [what, pattern] of LEAKS) {
    const match = pattern.exec(text);
    if (match) problems.push(`reveals ${what} (${JSON.stringify(match[0].slice(0, 60))}): ${text.slice(0, 240)}`);
  }
  const keys = (value: unknown, out: string[] = []): string[] => {
    if (value && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        out.push(key);
        keys(item, out);
      }
    }
    return out;
  };
  const leakyKey = keys(error?.extensions).find((key) => LEAKY_KEYS.has(key));
  if (leakyKey) problems.push(`extensions carry "${leakyKey}": ${text.slice(0, 240)}`);
  return problems;
}

/** `signature` names the problem, `where` the field or case it happened on, `detail` one full example. */
type Failure = { signature: string; where: string; detail: string };

/** Groups failures that are the same problem, with one example each, so a report stays readable. */
function summarize(failures: Failure[]): string[] {
  const groups = new Map<string, { count: number; where: Set<string>; example: string }>();
  for (const failure of failures) {
    const group = groups.get(failure.signature) ?? { count: 0, where: new Set(), example: failure.detail };
    group.count++;
    group.where.add(failure.where);
    groups.set(failure.signature, group);
  }
  return [...groups].map(([signature, { count, where, example }]) => {
    const places = [...where];
    const on = `${places.slice(0, 6).join(', ')}${places.length > 6 ? ` and ${places.length - 6} more` : ''}`;
    return `[seed ${SEED}] ${count}× ${signature}\n    on: ${on}\n    e.g. ${example}`;
  });
}

/** The shape of a message without the values in it, so the same error about other values groups together. */
const normalize = (message: string) =>
  message
    .replace(/got invalid value [\s\S]*?(;| at "| \(|$)/, 'got invalid value …$1')
    .replace(/"(?:[^"\\]|\\.)*"/g, '"…"')
    .replace(/\d+/g, 'N')
    .replace(/;[\s\S]*/, '')
    .slice(0, 140);

async function post(url: string, request: Request): Promise<{ status: number; text: string }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(request.token ? { authorization: `Bearer ${request.token}` } : {}),
    },
    body: request.chunked
      ? new ReadableStream({
          start(controller) {
            controller.enqueue(new Uint8Array(request.body));
            controller.close();
          },
        })
      : new Uint8Array(request.body),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    ...(request.chunked ? { duplex: 'half' } : {}),
  } as RequestInit);
  return { status: response.status, text: await response.text() };
}

/** Sends a request and records every way its answer breaks the rules. */
async function check(url: string, request: Request, failures: Failure[], where: string): Promise<any> {
  const fail = (what: string, detail: string) =>
    failures.push({ signature: what, where, detail: `${request.label}: ${detail.slice(0, 400)}` });
  let answer;
  try {
    answer = await post(url, request);
  } catch (error) {
    fail('no answer', `${(error as Error).message}`);
    return undefined;
  }
  if (answer.status >= 500) fail(`HTTP ${answer.status}`, answer.text);
  let body: any;
  try {
    body = JSON.parse(answer.text);
  } catch {
    fail(`HTTP ${answer.status} with a body that is not JSON`, JSON.stringify(answer.text.slice(0, 200)));
    return undefined;
  }
  if (body === null || typeof body !== 'object' || (!('data' in body) && !Array.isArray(body.errors))) {
    fail('a body that is not a GraphQL response', answer.text);
  }
  for (const error of Array.isArray(body?.errors) ? body.errors : []) {
    for (const problem of errorProblems(error, request.echoes)) fail(normalize(problem), problem);
  }
  return body;
}

async function inPool<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

let servingChecks = 0;

/** The owner can still read and write: the server is serving. */
async function expectServing(url: string, world: World): Promise<void> {
  const me = await data(url, '{ me { id } }', {}, world.owner.token);
  expect(me.me.id).toBe(world.owner.id);
  const sent = await send(url, world.owner, world.direct, `still here ${++servingChecks}`);
  const page = await data(
    url,
    'query ($id: ID!) { messages(conversationId: $id, last: 1) { edges { node { id } } } }',
    { id: world.direct },
    world.owner.token,
  );
  expect(page.messages.edges.map((edge: any) => edge.node.id)).toEqual([sent.id]);
}

// ---------------------------------------------------------------------------
// WebSocket

type SocketOutcome = { closeCode: number | null; closeReason: string; frames: any[]; badFrames: string[] };

/** A raw socket: sends `frames` (after an acknowledged ConnectionInit when `token` is given) and watches what follows. */
async function socketCase(
  url: string,
  token: string | null,
  frames: (string | Buffer | { binary: Buffer } | object)[],
  { settleMs = 1_500 }: { settleMs?: number } = {},
): Promise<SocketOutcome> {
  const raw = await rawSocket(url);
  const outcome: SocketOutcome = { closeCode: null, closeReason: '', frames: [], badFrames: [] };
  raw.socket.on('message', (data) => {
    try {
      outcome.frames.push(JSON.parse(String(data)));
    } catch {
      outcome.badFrames.push(String(data).slice(0, 200));
    }
  });
  raw.socket.on('error', () => undefined);
  let closed = false;
  void raw.closed.then(({ code, reason }) => {
    closed = true;
    outcome.closeCode = code;
    outcome.closeReason = reason;
  });
  const until = async (condition: () => boolean, ms: number) => {
    const deadline = Date.now() + ms;
    while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  };
  try {
    if (token) {
      raw.send({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } });
      await until(() => closed || outcome.frames.some((frame) => frame.type === 'connection_ack'), 10_000);
    }
    for (const frame of frames) {
      if (closed) break;
      if (frame instanceof Buffer) raw.socket.send(frame, { binary: false });
      else if (typeof frame === 'object' && frame !== null && 'binary' in frame && frame.binary instanceof Buffer) {
        raw.socket.send(frame.binary, { binary: true });
      } else raw.send(frame);
    }
    await until(() => closed, settleMs);
    if (!closed) {
      // Still open: it must still speak the protocol.
      raw.send({ type: 'ping', payload: { probe: true } });
      await until(
        () => closed || outcome.frames.some((frame) => frame.type === 'pong' && frame.payload?.probe),
        10_000,
      );
      if (!closed && !outcome.frames.some((frame) => frame.type === 'pong'))
        outcome.badFrames.push('no pong to a ping: the socket hangs');
    }
  } finally {
    raw.socket.terminate();
  }
  return outcome;
}

/** What is wrong with how a socket case ended. */
function socketProblems(outcome: SocketOutcome, echoes: string[]): string[] {
  const problems = outcome.badFrames.map((frame) => `a frame that is not JSON or no answer: ${frame}`);
  if (outcome.closeCode !== null && !PROTOCOL_CLOSE_CODES.has(outcome.closeCode)) {
    problems.push(`closed with ${outcome.closeCode} (${outcome.closeReason})`);
  }
  for (const [what, pattern] of LEAKS) {
    if (pattern.test(outcome.closeReason)) problems.push(`close reason reveals ${what}: ${outcome.closeReason}`);
  }
  for (const frame of outcome.frames) {
    const errors = frame.type === 'error' ? frame.payload : frame.type === 'next' ? (frame.payload?.errors ?? []) : [];
    for (const error of Array.isArray(errors) ? errors : [errors]) problems.push(...errorProblems(error, echoes));
  }
  return problems;
}

/** One raw TCP connection that upgrades properly, then writes `bytes`; resolves with the close code the server sends. */
function lowLevelCase(url: string, bytes: Buffer): Promise<{ closeCode: number | null; detail: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connectTcp(Number(port), hostname);
    let buffer = Buffer.alloc(0);
    let upgraded = false;
    const finish = (closeCode: number | null, detail: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ closeCode, detail });
    };
    const timer = setTimeout(() => finish(null, 'no close frame within 10 s'), 10_000);
    socket.on('connect', () => {
      socket.write(
        `GET /graphql HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n` +
          'Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n',
      );
    });
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (!upgraded) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!buffer.subarray(0, end).toString().startsWith('HTTP/1.1 101')) return finish(null, 'upgrade refused');
        upgraded = true;
        buffer = buffer.subarray(end + 4);
        socket.write(bytes);
      }
      // Server frames are unmasked; a close frame is 0x88, a length, then the code.
      while (buffer.length >= 2) {
        const opcode = buffer[0]! & 0x0f;
        const length = buffer[1]! & 0x7f;
        if (length > 125 || buffer.length < 2 + length) return;
        if (opcode === 0x8)
          return finish(length >= 2 ? buffer.readUInt16BE(2) : 1005, buffer.subarray(4, 2 + length).toString());
        buffer = buffer.subarray(2 + length);
      }
    });
    socket.on('close', () => finish(null, 'connection closed without a close frame'));
    socket.on('error', () => undefined);
  });
}

/** A masked client frame. */
function frame(
  first: number,
  payload: Buffer,
  { masked = true, lengthOverride }: { masked?: boolean; lengthOverride?: Buffer } = {},
): Buffer {
  const mask = masked ? randomBytes(4) : Buffer.alloc(0);
  const body = Buffer.from(payload.map((byte, i) => (masked ? byte ^ mask[i % 4]! : byte)));
  const length = lengthOverride ?? Buffer.from([(masked ? 0x80 : 0) | payload.length]);
  return Buffer.concat([Buffer.from([first]), length, mask, body]);
}

// ---------------------------------------------------------------------------

describe.each<DatabaseKind>(['sqlite', 'mysql'])('fuzzing the API on %s', (database) => {
  let server: TestServer;
  let url: string;
  let world: World;
  beforeAll(async () => {
    server = await startServer(database);
    url = server.graphqlUrl;
    world = await buildWorld(url);
  }, 60_000);
  afterAll(() => server?.stop());

  // First, while the parser is cold: how deep it can recurse depends on how far V8 has optimized it.
  it('answers malformed requests (not JSON, wrong envelope types) with a JSON error below 500', async () => {
    const failures: Failure[] = [];
    const query = '{ me { id } }';
    const bodies: [string, string | Buffer][] = [
      ['not JSON', '{"query": "{ me { id } '],
      ['empty body', ''],
      ['JSON null', 'null'],
      ['JSON array', `[{"query":${JSON.stringify(query)}}]`],
      ['JSON string', '"{ me { id } }"'],
      ['query is a number', '{"query": 42}'],
      ['query is an object', '{"query": {"a": 1}}'],
      ['query is null', '{"query": null}'],
      ['no query', '{"variables": {}}'],
      ['empty query', '{"query": ""}'],
      ['variables is an array', `{"query": ${JSON.stringify(query)}, "variables": [1]}`],
      ['variables is a string', `{"query": ${JSON.stringify(query)}, "variables": "{}"}`],
      ['extensions is a string', `{"query": ${JSON.stringify(query)}, "extensions": "x"}`],
      ['unknown operationName', `{"query": ${JSON.stringify(query)}, "operationName": "Nope"}`],
      ['operationName is a number', `{"query": ${JSON.stringify(query)}, "operationName": 5}`],
      ['two operations, no name', '{"query": "query A { me { id } } query B { me { id } }"}'],
      ['invalid UTF-8 bytes', Buffer.from([0x7b, 0x22, 0x71, 0xff, 0xc0, 0xaf, 0x22, 0x3a, 0x31, 0x7d])],
      ['a BOM first', `\ufeff{"query": ${JSON.stringify(query)}}`],
      ['1 MB of whitespace', `{"query": ${JSON.stringify(query)}${' '.repeat(MEGABYTE)}}`],
      ['a query of 1 MB of comments', JSON.stringify({ query: `${query}\n#${'c'.repeat(MEGABYTE)}` })],
      ['a query of 3,000 fields', JSON.stringify({ query: `{ ${'me { id } '.repeat(3_000)} }` })],
      ['a query nested 5,000 deep', JSON.stringify({ query: `${'{ me '.repeat(5_000)}${'}'.repeat(5_000)}` })],
      // List literals nest one level per token: the parser is deep in recursion before the token limit stops it.
      ...[1_200, 1_500, 1_800, 1_990, 2_500, 3_000].map((depth): [string, string] => [
        `a list literal nested ${depth} deep`,
        JSON.stringify({ query: `{ node(id: ${'['.repeat(depth)}1${']'.repeat(depth)}) { id } }` }),
      ]),
    ];
    for (const token of [world.owner.token, undefined]) {
      for (const [label, body] of bodies) {
        const request: Request = {
          label,
          body: Buffer.from(body),
          token,
          echoes: [typeof body === 'string' ? body : ''],
        };
        await check(url, request, failures, label);
      }
    }
    // A body over the limit, and one of unknown length, get an answer a GraphQL client can read.
    const oversized = JSON.stringify({ query, variables: { pad: 'p'.repeat(1_100_000) } });
    await check(
      url,
      { label: 'a body over the 1 MiB limit', body: Buffer.from(oversized), echoes: [] },
      failures,
      'a body over the 1 MiB limit',
    );
    const small = JSON.stringify({ query });
    await check(
      url,
      { label: 'a chunked body (no Content-Length)', body: Buffer.from(small), echoes: [], chunked: true },
      failures,
      'a chunked body',
    );
    expect(summarize(failures)).toEqual([]);
    await expectServing(url, world);
  });

  it(
    'answers every hostile argument of every query and mutation with a contract error, and keeps serving',
    { timeout: 120_000 },
    async () => {
      const failures: Failure[] = [];
      let sent = 0;
      const started = Date.now();
      for (const root of rootFields()) {
        const rng = mulberry32(seedFor(`${database}:${root.field.name}`));
        const requests: Request[] = [];
        for (const target of targetsOf(root)) {
          for (const fuzz of fuzzValues(world, target.path.at(-1)!, target.type, rng)) {
            // Each value once, as variables or as a literal (the seed decides when both can be
            // written), by the owner or, for a quarter of them, by no one.
            if (fuzz.declare && target.path.length > 1) continue; // only a whole argument has a variable of its own
            const inline = writable(fuzz.value, 'inline') && fuzz.value !== UNSET && !fuzz.declare;
            const mode = inline && (!writable(fuzz.value, 'variables') || chance(rng, 0.5)) ? 'inline' : 'variables';
            const token = !fuzz.huge && chance(rng, 0.25) ? undefined : world.owner.token;
            requests.push(buildRequest(world, target, fuzz, mode, rng, token));
          }
        }
        await inPool(requests, CONCURRENCY, async (request) => {
          await check(url, request, failures, `${root.operation} ${root.field.name}`);
          sent++;
        });
        // logOut, logOutEverywhere (and a changePassword that succeeds) end the owner's session: a new one goes on.
        if (SESSION_ENDING.has(root.field.name)) {
          const login = await data(url, 'mutation ($input: LogInInput!) { logIn(input: $input) { token } }', {
            input: { username: 'fuzz_owner', password: 'correct horse battery' },
          });
          world.owner.token = login.logIn.token;
        }
        // Still serving after each field's barrage.
        await expectServing(url, world);
      }
      console.info(`[fuzz ${database}] seed ${SEED}: ${sent} requests in ${Date.now() - started} ms`);
      expect(summarize(failures)).toEqual([]);
    },
  );

  it(
    'ends malformed WebSocket frames with a protocol close code or an error for that operation, and keeps serving',
    { timeout: 120_000 },
    async () => {
      const rng = mulberry32(seedFor(`${database}:websocket`));
      const token = world.owner.token;
      const notFound = {
        query: 'subscription ($id: ID) { messageEvents(conversationId: $id) { cursor } }',
        variables: { id: 'nope' },
      };
      const sub = (id: unknown, payload: unknown) => ({ type: 'subscribe', id, payload });
      /** A label, the token to authenticate with (none: no ConnectionInit), the frames, and whether the socket must stay open. */
      const cases: [string, string | null, (string | Buffer | { binary: Buffer } | object)[], boolean?][] = [
        ['text that is not JSON', null, ['hello']],
        ['an empty frame', null, ['']],
        ['JSON null', null, ['null']],
        ['a JSON array', null, ['[]']],
        ['a JSON number', null, ['42']],
        ['truncated JSON', null, ['{"type":"connection_init"']],
        ['no type', null, [{}]],
        ['a numeric type', null, [{ type: 5 }]],
        ['an unknown type', null, [{ type: 'hello' }]],
        ['subscribe before connection_init', null, [sub('1', notFound)]],
        ['complete before connection_init', null, [{ type: 'complete', id: '1' }]],
        ['connection_init with a string payload', null, [{ type: 'connection_init', payload: 'x' }]],
        ['connection_init with an array payload', null, [{ type: 'connection_init', payload: [] }]],
        ['connection_init with a numeric token', null, [{ type: 'connection_init', payload: { authorization: 42 } }]],
        ['connection_init with an object token', null, [{ type: 'connection_init', payload: { token: { a: 1 } } }]],
        [
          'connection_init with a lone surrogate token',
          null,
          ['{"type":"connection_init","payload":{"authorization":"Bearer \\ud800"}}'],
        ],
        [
          'connection_init with a 60 KiB token',
          null,
          [{ type: 'connection_init', payload: { token: 'x'.repeat(60 * 1024) } }],
        ],
        [
          'connection_init with a prototype payload',
          null,
          ['{"type":"connection_init","payload":{"__proto__":{"authorization":"Bearer x"}}}'],
        ],
        [
          'a binary frame of garbage',
          null,
          [{ binary: Buffer.from(Array.from({ length: 64 }, () => Math.floor(rng() * 256))) }],
        ],
        ['invalid UTF-8 in a text frame', null, [Buffer.from([0x7b, 0xc0, 0xaf, 0xff, 0x7d])]],
        ['a frame over 64 KiB', null, ['x'.repeat(70 * 1024)]],
        ['a pong with a string payload', null, [{ type: 'pong', payload: 'x' }]],
        ['ping before connection_init', null, [{ type: 'ping' }]],
        ['a server-only next frame', token, [{ type: 'next', id: '1', payload: { data: {} } }]],
        ['a server-only error frame', token, [{ type: 'error', id: '1', payload: [] }]],
        ['a server-only connection_ack', token, [{ type: 'connection_ack' }]],
        ['a second connection_init', token, [{ type: 'connection_init', payload: { token } }]],
        ['a numeric subscribe id', token, [sub(1, notFound)]],
        ['an empty subscribe id', token, [sub('', notFound)]],
        ['an object subscribe id', token, [sub({ a: 1 }, notFound)]],
        ['a 60 KiB subscribe id', token, [sub('i'.repeat(60 * 1024), notFound)]],
        ['a subscribe without payload', token, [{ type: 'subscribe', id: '1' }]],
        ['a subscribe with a string payload', token, [sub('1', 'query')]],
        ['a subscribe with a numeric query', token, [sub('1', { query: 5 })]],
        ['a subscribe with array variables', token, [sub('1', { query: notFound.query, variables: [] })]],
        ['a subscribe with a numeric operationName', token, [sub('1', { query: notFound.query, operationName: 5 })]],
        ['a subscribe with string extensions', token, [sub('1', { query: notFound.query, extensions: 'x' })]],
        ['a subscribe that does not parse', token, [sub('1', { query: 'subscription {' })]],
        ['a subscribe to an unknown field', token, [sub('1', { query: 'subscription { nope }' })]],
        [
          'a subscribe with two anonymous operations',
          token,
          [
            sub('1', {
              query:
                'subscription { typing(conversationId: "x") { typing } } subscription { conversationEvents { kind } }',
            }),
          ],
        ],
        [
          'a subscribe with an unknown operationName',
          token,
          [sub('1', { query: notFound.query, operationName: 'Nope', variables: notFound.variables })],
        ],
        [
          'a subscribe with a NUL in the query',
          token,
          [sub('1', { query: 'subscription { conversationEvents { kind } }\u0000' })],
        ],
        ...[1_500, 1_990, 3_000].map((depth): [string, string, object[]] => [
          `a subscribe with a list literal nested ${depth} deep`,
          token,
          [
            sub('1', {
              query: `subscription { typing(conversationId: ${'['.repeat(depth)}1${']'.repeat(depth)}) { typing } }`,
            }),
          ],
        ]),
        [
          'a subscribe nested past the token limit',
          token,
          [
            sub('1', {
              query: `subscription { conversationEvents ${'{ conversation '.repeat(3_000)}${'}'.repeat(3_000)} }`,
            }),
          ],
        ],
        [
          'the same id twice',
          token,
          [
            sub('same', { query: 'subscription { conversationEvents { kind } }' }),
            sub('same', { query: 'subscription { conversationEvents { kind } }' }),
          ],
        ],
        ['complete of an unknown id', token, [{ type: 'complete', id: 'unknown' }]],
        ['complete with a numeric id', token, [{ type: 'complete', id: 5 }]],
        ['a query over the socket', token, [sub('1', { query: '{ me { id } }' })]],
        [
          'a mutation with hostile input over the socket',
          token,
          [
            sub('1', {
              query: 'mutation ($i: SendMessageInput!) { sendMessage(input: $i) { id } }',
              variables: { i: { conversationId: world.foreign, body: '\u0000', clientMessageId: 'x'.repeat(65) } },
            }),
          ],
        ],
        [
          '150 subscriptions at once',
          token,
          Array.from({ length: 150 }, (_, i) =>
            sub(`many-${i}`, { query: 'subscription { conversationEvents { kind } }' }),
          ),
        ],
        ['a flood of 500 pings', token, Array.from({ length: 500 }, () => ({ type: 'ping' }))],
      ];
      // Every argument of every subscription field, walked from the schema, with hostile variables.
      for (const field of Object.values(SCHEMA.getSubscriptionType()?.getFields() ?? {})) {
        const selection = selectionOf(field.type);
        for (const arg of field.args) {
          const values = fuzzValues(world, arg.name, arg.type, rng).filter(
            (fuzz) =>
              writable(fuzz.value, 'variables') &&
              !fuzz.declare &&
              fuzz.value !== OMITTED &&
              // Invalid UTF-8 ends the whole socket (1007, tested on its own above); big values, the frame limit.
              !hasRawBytes(fuzz.value) &&
              stringsIn(fuzz.value).join('').length < 48 * 1024,
          );
          const declared = field.args.map((other) => `$${other.name}: ${String(other.type)}`).join(', ');
          const call = field.args.map((other) => `${other.name}: $${other.name}`).join(', ');
          const query = `subscription (${declared}) { ${field.name}(${call}) ${selection} }`;
          const frames = values.map((fuzz, i) => {
            const variables = Object.fromEntries(
              field.args
                .filter((other) => other.name !== arg.name && isNonNullType(other.type))
                .map((other) => [other.name, baseline(world, field.name, other.name, other.type, rng)]),
            );
            if (fuzz.value !== UNSET) variables[arg.name] = fuzz.value;
            const chunks = [
              '{"type":"subscribe","id":',
              JSON.stringify(`${arg.name}-${i}`),
              ',"payload":{"query":',
              JSON.stringify(query),
              ',"variables":',
              ...jsonChunks(variables),
              '}}',
            ];
            return Buffer.concat(chunks.map((chunk) => Buffer.from(chunk)));
          });
          // At most 90 at once: the socket's limit is 100 subscriptions.
          for (let start = 0; start < frames.length; start += 90) {
            cases.push([
              `subscription ${field.name}(${arg.name}) with hostile variables, batch ${start / 90 + 1}`,
              token,
              frames.slice(start, start + 90),
              true,
            ]);
          }
        }
      }

      const failures: Failure[] = [];
      await inPool(cases, 4, async ([label, caseToken, frames, staysOpen]) => {
        const outcome = await socketCase(url, caseToken, frames);
        if (staysOpen && outcome.closeCode !== null) {
          failures.push({
            signature: `socket: closed with ${outcome.closeCode} although every frame was well-formed`,
            where: label,
            detail: outcome.closeReason,
          });
        }
        const echoes = frames.flatMap((item) =>
          typeof item === 'string' ? [item] : item instanceof Buffer ? [item.toString()] : stringsIn(item),
        );
        for (const problem of socketProblems(outcome, echoes)) {
          failures.push({ signature: `socket: ${normalize(problem)}`, where: label, detail: problem.slice(0, 400) });
        }
      });

      // Below graphql-ws: frames that break RFC 6455 itself.
      const text = Buffer.from('{"type":"ping"}');
      const lowLevel: [string, Buffer][] = [
        ['an unmasked client frame', frame(0x81, text, { masked: false })],
        ['a reserved opcode', frame(0x83, text)],
        ['RSV bits without an extension', frame(0xf1, text)],
        ['a fragmented control frame', frame(0x09, Buffer.alloc(0))],
        ['a continuation with nothing to continue', frame(0x80, text)],
        [
          'a 2^63-byte length',
          frame(0x81, Buffer.alloc(0), {
            lengthOverride: Buffer.from([0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
          }),
        ],
        ['a close frame with an invalid code', frame(0x88, Buffer.from([0x03, 0xe7]))],
      ];
      for (const [label, bytes] of lowLevel) {
        const { closeCode, detail } = await lowLevelCase(url, bytes);
        // 1000/1005 answer a client's own close frame.
        if (
          closeCode === null ||
          !(PROTOCOL_CLOSE_CODES.has(closeCode) || (label.startsWith('a close frame') && closeCode >= 1000))
        ) {
          failures.push({ signature: `raw frame: closed with ${closeCode}`, where: label, detail });
        }
      }
      expect(summarize(failures)).toEqual([]);

      // Other clients were served all along, and still are.
      const client = connect(url, world.other.token);
      try {
        const after = (
          await data(
            url,
            'query ($id: ID!) { messages(conversationId: $id, last: 1) { eventCursor } }',
            { id: world.direct },
            world.other.token,
          )
        ).messages.eventCursor;
        const events = subscribe(
          client,
          'subscription ($id: ID, $after: String) { messageEvents(conversationId: $id, after: $after) { message { body } } }',
          { id: world.direct, after },
        );
        await send(url, world.owner, world.direct, 'after the socket fuzz');
        await events.waitUntil((event) => event.messageEvents.message.body === 'after the socket fuzz', 30_000);
        expect(events.errors).toEqual([]);
      } finally {
        await client.dispose();
      }
      await expectServing(url, world);
    },
  );
});
