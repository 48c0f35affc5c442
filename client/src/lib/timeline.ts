// One conversation's messages as the view shows them: confirmed messages in
// server order, then the viewer's own sends that the server has not confirmed
// yet. A send is confirmed by its result or by its CREATED event, whichever
// comes first, matched on clientMessageId, so it is never shown twice.
import type { MessageFieldsFragment } from '../gql/graphql.js';

export type Message = MessageFieldsFragment;

export type PendingMessage = {
  clientMessageId: string;
  body: string;
  /** Local time of the send, for display only. */
  createdAt: string;
  /** Why the send failed; null while it is in flight. */
  error: string | null;
};

export type Timeline = {
  /** Oldest first. */
  messages: Message[];
  /** In send order, shown after `messages`. */
  pending: PendingMessage[];
  /** `before` for the next older page. */
  olderCursor: string | null;
  hasOlder: boolean;
  /** False until the newest page has arrived. */
  loaded: boolean;
};

export type HistoryPage = {
  /** Oldest first, as the API returns them. */
  messages: Message[];
  startCursor: string | null;
  hasPreviousPage: boolean;
};

export type TimelineItem =
  { key: string; kind: 'message'; message: Message } | { key: string; kind: 'pending'; pending: PendingMessage };

export const emptyTimeline: Timeline = { messages: [], pending: [], olderCursor: null, hasOlder: false, loaded: false };

/** The React key of a message: its clientMessageId when it is the viewer's, so a confirmed send keeps the pending one's place. */
export function itemKey(message: Message, viewerId: string): string {
  return message.sender.id === viewerId && message.clientMessageId
    ? `send:${message.clientMessageId}`
    : `message:${message.id}`;
}

export function timelineItems(timeline: Timeline, viewerId: string): TimelineItem[] {
  return [
    ...timeline.messages.map((message) => ({ key: itemKey(message, viewerId), kind: 'message' as const, message })),
    ...timeline.pending.map((pending) => ({
      key: `send:${pending.clientMessageId}`,
      kind: 'pending' as const,
      pending,
    })),
  ];
}

export function addPending(timeline: Timeline, pending: PendingMessage): Timeline {
  const others = timeline.pending.filter((item) => item.clientMessageId !== pending.clientMessageId);
  return { ...timeline, pending: [...others, pending] };
}

export function failPending(timeline: Timeline, clientMessageId: string, error: string): Timeline {
  if (!timeline.pending.some((item) => item.clientMessageId === clientMessageId)) return timeline;
  return {
    ...timeline,
    pending: timeline.pending.map((item) => (item.clientMessageId === clientMessageId ? { ...item, error } : item)),
  };
}

/** A failed send tried again goes last: the outbox sends it after those already waiting. */
export function retryPending(timeline: Timeline, clientMessageId: string): Timeline {
  const retried = timeline.pending.find((item) => item.clientMessageId === clientMessageId);
  if (!retried) return timeline;
  const others = timeline.pending.filter((item) => item !== retried);
  return { ...timeline, pending: [...others, { ...retried, error: null }] };
}

export function removePending(timeline: Timeline, clientMessageId: string): Timeline {
  return { ...timeline, pending: timeline.pending.filter((item) => item.clientMessageId !== clientMessageId) };
}

/**
 * True when `incoming` is an older state of a message than `current`: a
 * deletion is final and a later edit wins. (Events carry the message as it is
 * when delivered, so this only guards against a reply that raced an event.)
 */
function isOlderState(incoming: Message, current: Message): boolean {
  if (current.deletedAt && !incoming.deletedAt) return true;
  if (current.editedAt && incoming.editedAt && incoming.editedAt < current.editedAt) return true;
  return Boolean(current.editedAt && !incoming.editedAt && !incoming.deletedAt);
}

/** Inserts by createdAt (after equal ones), which is send order on the server; usually at the end. */
function insertOrdered(messages: Message[], message: Message): Message[] {
  let index = messages.length;
  while (index > 0 && messages[index - 1]!.createdAt > message.createdAt) index--;
  return [...messages.slice(0, index), message, ...messages.slice(index)];
}

/**
 * A message from the server: the result of a send, edit or reaction, or an
 * event. Replaces the stored copy with the same id, confirms the pending send
 * with the same clientMessageId, or adds it in order.
 */
export function upsertMessage(timeline: Timeline, message: Message, viewerId: string): Timeline {
  const pending =
    message.sender.id === viewerId && message.clientMessageId
      ? timeline.pending.filter((item) => item.clientMessageId !== message.clientMessageId)
      : timeline.pending;
  const index = timeline.messages.findIndex((item) => item.id === message.id);
  let messages: Message[];
  if (index === -1) messages = insertOrdered(timeline.messages, message);
  else if (isOlderState(message, timeline.messages[index]!)) messages = timeline.messages;
  else messages = timeline.messages.map((item, i) => (i === index ? message : item));
  if (messages === timeline.messages && pending.length === timeline.pending.length) return timeline;
  return { ...timeline, messages, pending };
}

/**
 * The newest page, read when the conversation opens (or again after a
 * reconnect). Events that arrived while it loaded are kept when the page does
 * not have them yet; the page's copy wins otherwise.
 */
export function applyLatestPage(timeline: Timeline, page: HistoryPage, viewerId: string): Timeline {
  const ids = new Set(page.messages.map((message) => message.id));
  let next: Timeline = {
    messages: page.messages,
    pending: timeline.pending,
    olderCursor: page.startCursor,
    hasOlder: page.hasPreviousPage,
    loaded: true,
  };
  for (const message of page.messages) {
    if (message.sender.id === viewerId && message.clientMessageId) {
      next = removePending(next, message.clientMessageId);
    }
  }
  const newest = page.messages.at(-1)?.createdAt ?? '';
  for (const message of timeline.messages) {
    if (!ids.has(message.id) && message.createdAt >= newest) next = upsertMessage(next, message, viewerId);
  }
  return next;
}

/** An older page, read when the view scrolls back: goes in front, without the messages already there. */
export function applyOlderPage(timeline: Timeline, page: HistoryPage): Timeline {
  const ids = new Set(timeline.messages.map((message) => message.id));
  const older = page.messages.filter((message) => !ids.has(message.id));
  return {
    ...timeline,
    messages: [...older, ...timeline.messages],
    olderCursor: page.startCursor,
    hasOlder: page.hasPreviousPage,
  };
}

/** The newest confirmed message, which read markers move to. */
export function newestMessage(timeline: Timeline): Message | undefined {
  return timeline.messages.at(-1);
}
