import { describe, expect, it } from 'vitest';
import { TYPING_SHOWN_MS, typingText, withoutExpired, withoutTypist, withTypist } from '../../client/src/lib/typing.js';

const ann = { id: 'User:ann', displayName: 'Ann' };
const bo = { id: 'User:bo', displayName: 'Bo' };
const cy = { id: 'User:cy', displayName: 'Cy' };

describe('typing', () => {
  it('names who is typing', () => {
    expect(typingText({})).toBe('');
    const one = withTypist({}, ann, 0);
    expect(typingText(one)).toBe('Ann is typing…');
    const two = withTypist(one, bo, 1);
    expect(typingText(two)).toBe('Ann and Bo are typing…');
    expect(typingText(withTypist(two, cy, 2))).toBe('Ann, Bo and 1 more are typing…');
  });

  it('clears a typist on typing=false, or when not heard from for a while', () => {
    const typists = withTypist(withTypist({}, ann, 0), bo, 1_000);
    expect(typingText(withoutTypist(typists, ann.id))).toBe('Bo is typing…');
    expect(typingText(withoutExpired(typists, TYPING_SHOWN_MS))).toBe('Bo is typing…');
    expect(withoutTypist(typists, 'User:nobody')).toBe(typists);
  });
});
