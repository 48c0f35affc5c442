// Keyset pagination shared by every connection: argument limits, opaque
// cursors and the connection shape. Pages are never read with OFFSET.
import { badUserInput } from '../errors.js';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 100;

export type PageArgs = {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
};

export type PageRequest = {
  /** forward: oldest first from `after`; backward: newest first from `before`. */
  direction: 'forward' | 'backward';
  limit: number;
  after: string | null;
  before: string | null;
};

function checkSize(name: 'first' | 'last', value: number | null | undefined): void {
  if (value !== null && value !== undefined && (value < 1 || value > MAX_PAGE_SIZE)) {
    throw badUserInput(name, `${name} must be between 1 and ${MAX_PAGE_SIZE}.`);
  }
}

export function parsePageArgs(args: PageArgs): PageRequest {
  checkSize('first', args.first);
  checkSize('last', args.last);
  if (args.first != null && args.last != null) throw badUserInput('last', 'Pass either first or last, not both.');
  const backward = args.last != null || (args.first == null && args.before != null);
  return {
    direction: backward ? 'backward' : 'forward',
    limit: (backward ? args.last : args.first) ?? DEFAULT_PAGE_SIZE,
    after: args.after ?? null,
    before: args.before ?? null,
  };
}

export function encodeCursor(kind: string, value: string | number): string {
  return Buffer.from(`${kind}:${value}`).toString('base64url');
}

/** The value inside a cursor of `kind`; BAD_USER_INPUT naming `argument` when it is not one. */
export function decodeCursor(kind: string, cursor: string, argument: string): string {
  const text = Buffer.from(cursor, 'base64url').toString();
  if (!text.startsWith(`${kind}:`) || encodeCursor(kind, text.slice(kind.length + 1)) !== cursor) {
    throw badUserInput(argument, `${argument} is not a valid cursor.`);
  }
  return text.slice(kind.length + 1);
}

/** A cursor holding a positive integer id or position. */
export function decodeNumericCursor(kind: string, cursor: string, argument: string): number {
  const text = decodeCursor(kind, cursor, argument);
  const value = Number(text);
  if (!/^\d{1,16}$/.test(text) || !Number.isSafeInteger(value)) {
    throw badUserInput(argument, `${argument} is not a valid cursor.`);
  }
  return value;
}

export type Connection<T> = {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
};

/**
 * Builds a connection from rows read with limit + 1 in the request's
 * direction: the extra row only tells that more exist in that direction.
 * `beyondStart` says whether anything lies before the page's start bound.
 */
export function toConnection<T>(
  rows: T[],
  request: PageRequest,
  cursorOf: (row: T) => string,
  beyondStart: boolean,
): Connection<T> {
  const hasMore = rows.length > request.limit;
  const page = rows.slice(0, request.limit);
  if (request.direction === 'backward') page.reverse();
  const edges = page.map((node) => ({ cursor: cursorOf(node), node }));
  return {
    edges,
    pageInfo: {
      hasNextPage: request.direction === 'forward' ? hasMore : beyondStart,
      hasPreviousPage: request.direction === 'forward' ? beyondStart : hasMore,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}
