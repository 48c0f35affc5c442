// Who is typing in the open conversation. typing=true lasts 5 seconds on the
// server unless repeated; the client forgets a typist a little later in case
// the typing=false was lost with a dropped connection.

/** A typist not heard from for this long is no longer shown. */
export const TYPING_SHOWN_MS = 6_000;

export type Typists = Record<string, { name: string; since: number }>;

export function withTypist(typists: Typists, user: { id: string; displayName: string }, now: number): Typists {
  return { ...typists, [user.id]: { name: user.displayName, since: now } };
}

export function withoutTypist(typists: Typists, userId: string): Typists {
  if (!(userId in typists)) return typists;
  const { [userId]: _gone, ...rest } = typists;
  return rest;
}

export function withoutExpired(typists: Typists, now: number): Typists {
  const expired = Object.keys(typists).filter((id) => now - typists[id]!.since >= TYPING_SHOWN_MS);
  return expired.reduce(withoutTypist, typists);
}

export function typingText(typists: Typists): string {
  const names = Object.values(typists)
    .sort((a, b) => a.since - b.since)
    .map((typist) => typist.name);
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return `${names[0]}, ${names[1]} and ${names.length - 2} more are typing…`;
}
