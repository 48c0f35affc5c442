// The contract's input limits, one validator each, applied by the validation
// plugin; a failure is BAD_USER_INPUT naming the field.
import { z } from 'zod';
import { codePointLength } from '../codePoints.js';

const lengthBetween = (label: string, min: number, max: number) =>
  z.string().refine(
    (text) => {
      const length = codePointLength(text);
      return length >= min && length <= max;
    },
    {
      message: `${label} must be ${min} to ${max} characters.`,
    },
  );

export const username = z
  .string()
  .transform((text) => text.toLowerCase())
  .pipe(z.string().regex(/^[a-z0-9_]{3,32}$/, 'username must be 3 to 32 characters of a-z, 0-9 and _.'));

export const password = lengthBetween('password', 8, 256);

export const displayName = z
  .string()
  .transform((text) => text.trim())
  .pipe(lengthBetween('displayName', 1, 64));

export const groupTitle = z
  .string()
  .transform((text) => text.trim())
  .pipe(lengthBetween('title', 1, 100));

export const MESSAGE_BODY_MAX = 4000;
export const messageBody = z
  .string()
  .transform((text) => text.trim())
  .pipe(lengthBetween('body', 1, MESSAGE_BODY_MAX));

/** Longer than any username or display name can match (and SQLite refuses huge LIKE patterns). */
export const userSearch = z.string().max(64, 'search must be at most 64 characters.');

export const clientMessageId = lengthBetween('clientMessageId', 1, 64);

/** A group has 2..1000 members counting its creator. */
export const GROUP_MEMBERS_MAX = 1000;

// One emoji grapheme: a fully-qualified RGI emoji (flags, keycaps, ZWJ
// sequences, skin tones) or a single pictograph with an optional VS16.
// Built with RegExp() because the `v` flag is newer than the compile target.
const emojiPattern = new RegExp('^(?:\\p{RGI_Emoji}|\\p{Extended_Pictographic}\\uFE0F?)$', 'v');
export const emoji = z.string().regex(emojiPattern, 'emoji must be a single emoji.');
