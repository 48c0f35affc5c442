import { decodeNumericCursor, encodeCursor } from './pagination.js';

const EVENT_CURSOR = 'event';

/** The opaque cursor of a position in the message event log. */
export function eventCursor(position: number): string {
  return encodeCursor(EVENT_CURSOR, position);
}

export function parseEventCursor(cursor: string, argument = 'after'): number {
  return decodeNumericCursor(EVENT_CURSOR, cursor, argument);
}
