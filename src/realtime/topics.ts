// Every topic the instances exchange, with its payload: the one typed map.

/** A committed message event: a doorbell; the event itself is read from the log. */
export type MessageEventsPayload = { position: number };

/** Memberships of a conversation changed, or its title did. */
export type MembershipPayload = {
  conversationId: number;
  joined: number[];
  left: number[];
  /** Of `left`, those an admin removed (they get REMOVED rather than LEFT). */
  removed?: number[];
};

/** Sessions of a user were revoked: one (`sessionId`), or all but `exceptSessionId`, or all. */
export type SessionsRevokedPayload = { userId: number; sessionId?: string; exceptSessionId?: string };

/** A member's read marker moved forward. */
export type ReadMarkerPayload = { conversationId: number; userId: number; messageId: number };

/** `blockerId` blocked (or unblocked) `blockedId`. */
export type BlockPayload = { blockerId: number; blockedId: number; blocked: boolean };

export type TypingPayload = { conversationId: number; userId: number; typing: boolean };

export type PresencePayload = { userId: number; online: boolean; lastSeenAt: string | null };

/** stopGeneration was called on an assistant's reply: the instance generating it aborts the model request. */
export type AssistantStopPayload = { messageId: number };

export type Topics = {
  messageEvents: MessageEventsPayload;
  membership: MembershipPayload;
  typing: TypingPayload;
  presence: PresencePayload;
  sessionsRevoked: SessionsRevokedPayload;
  readMarkers: ReadMarkerPayload;
  blocks: BlockPayload;
  assistantStop: AssistantStopPayload;
};

export type Topic = keyof Topics;

/** The pub/sub channel of a topic, under the deployment's key prefix (REDIS_KEY_PREFIX). */
export function channelOf(prefix: string, topic: Topic): string {
  return `${prefix}${topic}`;
}
