// Small pieces shared by the views.
import { useEffect, useRef } from 'react';

export function PresenceDot({ online }: { online: boolean }) {
  return (
    <span
      className={`presence ${online ? 'presence-on' : 'presence-off'}`}
      role="img"
      aria-label={online ? 'online' : 'offline'}
    />
  );
}

/** A stable, muted colour per user or conversation. */
function hue(seed: string): number {
  let hash = 0;
  for (const char of seed) hash = (hash * 31 + char.codePointAt(0)!) % 360;
  return hash;
}

export function initials(name: string): string {
  // Words that start with a letter or digit: an emoji in a title makes a poor initial.
  const words = name
    .trim()
    .split(/\s+/)
    .filter((word) => /^[\p{L}\p{N}]/u.test(word));
  if (words.length === 0) return [...name.trim()][0] ?? '?';
  const letters =
    words.length > 1 ? [words[0]!, words.at(-1)!].map((word) => [...word][0]) : [...words[0]!].slice(0, 2);
  return letters.join('').toUpperCase();
}

export function Avatar({ name, seed, children }: { name: string; seed: string; children?: React.ReactNode }) {
  return (
    <span
      className="avatar"
      style={{ '--avatar-hue': hue(seed) } as React.CSSProperties}
      aria-hidden={children ? undefined : true}
    >
      <span aria-hidden="true">{initials(name)}</span>
      {children}
    </span>
  );
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dateFormat = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function formatTime(iso: string): string {
  return timeFormat.format(new Date(iso));
}

/** Time for today, a date otherwise: for the list. */
export function formatShort(iso: string, now = new Date()): string {
  const date = new Date(iso);
  return date.toDateString() === now.toDateString() ? timeFormat.format(date) : dateFormat.format(date);
}

export function formatFull(iso: string): string {
  return fullFormat.format(new Date(iso));
}

export const REACTION_EMOJI = [
  { emoji: '👍', name: 'thumbs up' },
  { emoji: '❤️', name: 'heart' },
  { emoji: '😂', name: 'laughing' },
  { emoji: '😮', name: 'surprised' },
  { emoji: '😢', name: 'sad' },
  { emoji: '🎉', name: 'party' },
  { emoji: '🙏', name: 'thanks' },
  { emoji: '🔥', name: 'fire' },
];

export function EmojiPicker({ onPick, onClose }: { onPick(emoji: string): void; onClose(): void }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    ref.current?.querySelector('button')?.focus();
    const onPointer = (event: PointerEvent) => {
      if (!ref.current?.contains(event.target as Node)) onClose();
    };
    document.addEventListener('pointerdown', onPointer);
    return () => document.removeEventListener('pointerdown', onPointer);
  }, [onClose]);
  return (
    <div
      ref={ref}
      className="emoji-picker"
      role="group"
      aria-label="Pick a reaction"
      onKeyDown={(event) => {
        if (event.key === 'Escape') onClose();
      }}
    >
      {REACTION_EMOJI.map(({ emoji, name }) => (
        <button key={emoji} type="button" aria-label={`React with ${name}`} title={name} onClick={() => onPick(emoji)}>
          {emoji}
        </button>
      ))}
    </div>
  );
}
