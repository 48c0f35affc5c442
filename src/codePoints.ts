// Text limits count characters as people do: Unicode code points, so an emoji
// is one character and not the two UTF-16 units of its surrogate pair.

/**
 * The number of code points in `text`. Counted in place rather than as
 * `[...text].length`, which builds an array of one string per character: a
 * message body's check did that twice on every send.
 */
export function codePointLength(text: string): number {
  let count = text.length;
  for (let index = 0; index < text.length - 1; index++) {
    const unit = text.charCodeAt(index);
    if (unit < 0xd800 || unit > 0xdbff) continue;
    const next = text.charCodeAt(index + 1);
    // A high surrogate followed by a low one is one code point; a lone one counts as one, as the spread does.
    if (next >= 0xdc00 && next <= 0xdfff) {
      count--;
      index++;
    }
  }
  return count;
}
