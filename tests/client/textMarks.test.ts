// The client's marks inside message text: mentions as the server finds them, search matches folded like the engines.
import { describe, expect, it } from 'vitest';
import { matchPieces, mentionBeingTyped, mentionPieces, searchWords } from '../../client/src/lib/textMarks.js';

describe('mentionPieces', () => {
  it('marks the stored mentions, the viewer’s as "me", and leaves e-mail addresses and other names alone', () => {
    expect(mentionPieces('hi @Bob and @carol, mail bob@example.com or @dave', ['bob', 'carol'], 'carol')).toEqual([
      { text: 'hi ' },
      { text: '@Bob', mention: 'other' },
      { text: ' and ' },
      { text: '@carol', mention: 'me' },
      { text: ', mail bob@example.com or @dave' },
    ]);
  });
});

describe('matchPieces', () => {
  it('marks whole words that match a query word, case- and accent-insensitively', () => {
    const pieces = matchPieces([{ text: 'Le Café est ouvert, cafés fermés' }], searchWords('cafe OUVERT'));
    expect(pieces.filter((piece) => piece.match).map((piece) => piece.text)).toEqual(['Café', 'ouvert']);
    expect(pieces.map((piece) => piece.text).join('')).toBe('Le Café est ouvert, cafés fermés');
  });
});

describe('mentionBeingTyped', () => {
  it('finds the @partial before the caret, not inside an e-mail address', () => {
    expect(mentionBeingTyped('hello @bo')).toEqual({ start: 6, partial: 'bo' });
    expect(mentionBeingTyped('@')).toEqual({ start: 0, partial: '' });
    expect(mentionBeingTyped('mail bob@exa')).toBeNull();
    expect(mentionBeingTyped('hello @bob ')).toBeNull();
  });
});
