// What the client marks inside a message's text: @mentions (the viewer's own
// stand out) and the words a search matched. Plain string work; the view
// renders the pieces as text, never as HTML.

/** The server's mention rule (src/db/mentions.ts): @username not inside a word, an e-mail address or a domain. */
const MENTION = /(?<![\p{L}\p{N}\p{M}_@.+-])@([a-z0-9_]{3,32})(?![\p{L}\p{N}\p{M}_@]|[.-][\p{L}\p{N}])/giu;
/** A word as the search cuts a query (src/db/search.ts). */
const WORD = /[\p{L}\p{N}\p{M}_]+/gu;

export type Piece = { text: string; mention?: 'other' | 'me'; match?: boolean };

/** Lower-case, without accents: how the search engines compare words. */
export function foldWord(word: string): string {
  return word.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/** The words of a search query, folded. */
export function searchWords(query: string): string[] {
  return [...new Set((query.match(WORD) ?? []).map(foldWord).filter((word) => /[\p{L}\p{N}]/u.test(word)))];
}

/** `text` cut into pieces, the @mentions of `mentioned` (usernames) marked, the viewer's as "me". */
export function mentionPieces(text: string, mentioned: readonly string[], viewerUsername: string): Piece[] {
  const names = new Set(mentioned.map((name) => name.toLowerCase()));
  const pieces: Piece[] = [];
  let at = 0;
  for (const match of text.matchAll(MENTION)) {
    const name = match[1]!.toLowerCase();
    if (!names.has(name)) continue;
    if (match.index > at) pieces.push({ text: text.slice(at, match.index) });
    pieces.push({ text: match[0], mention: name === viewerUsername.toLowerCase() ? 'me' : 'other' });
    at = match.index + match[0].length;
  }
  if (at < text.length) pieces.push({ text: text.slice(at) });
  return pieces;
}

/** Each piece's words that a search matched split out and marked. */
export function matchPieces(pieces: Piece[], words: readonly string[]): Piece[] {
  if (words.length === 0) return pieces;
  const wanted = new Set(words);
  return pieces.flatMap((piece) => {
    const out: Piece[] = [];
    let at = 0;
    for (const match of piece.text.matchAll(WORD)) {
      if (!wanted.has(foldWord(match[0]))) continue;
      if (match.index > at) out.push({ ...piece, text: piece.text.slice(at, match.index) });
      out.push({ ...piece, text: match[0], match: true });
      at = match.index + match[0].length;
    }
    if (at < piece.text.length) out.push({ ...piece, text: piece.text.slice(at) });
    return out;
  });
}

/** The `@partial` being typed just before the caret, if any: what member suggestions complete. */
export function mentionBeingTyped(textBeforeCaret: string): { start: number; partial: string } | null {
  const match = /(?:^|[^\p{L}\p{N}\p{M}_@.+-])@([a-z0-9_]{0,32})$/iu.exec(textBeforeCaret);
  if (!match) return null;
  return { start: textBeforeCaret.length - match[1]!.length - 1, partial: match[1]!.toLowerCase() };
}
