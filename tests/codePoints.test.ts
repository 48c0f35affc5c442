// Text limits count code points: the count made in place agrees with the
// spread's, emoji, lone surrogates and all.
import { describe, expect, it } from 'vitest';
import { codePointLength } from '../src/codePoints.js';

describe('codePointLength', () => {
  it('counts an emoji as one, a lone surrogate as one, and agrees with [...text] on mixed text', () => {
    const cases = [
      '',
      'a',
      'héllo',
      '😀',
      'a😀b',
      '👩‍👩‍👧',
      '\ud83d',
      '\ude00',
      'x\ud83d',
      '\ude00\ud83d',
      '\ud83d\ud83d\ude00',
    ];
    for (const text of cases) expect(codePointLength(text), JSON.stringify(text)).toBe([...text].length);
    expect(codePointLength('😀😀😀')).toBe(3);
    // Random UTF-16 unit sequences, surrogates over-represented, from a fixed seed.
    let seed = 7;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const units = [0x61, 0xe9, 0xd83d, 0xde00, 0xdbff, 0xdc00, 0x4e2d];
    for (let round = 0; round < 2_000; round++) {
      const text = String.fromCharCode(
        ...Array.from({ length: Math.floor(random() * 12) }, () => units[Math.floor(random() * units.length)]!),
      );
      expect(codePointLength(text)).toBe([...text].length);
    }
  });
});
