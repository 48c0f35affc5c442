// The composer's emoji picker: frimousse (maintained, unstyled, so it is styled
// here and needs no inline <style>, which the client's CSP forbids), with its
// Emojibase data served by this app (see client/vite.config.ts), not a CDN.
// Loaded on first use so the chat's first paint does not carry it.
import { lazy, Suspense, useState } from 'react';

const Picker = lazy(async () => {
  const { EmojiPicker } = await import('frimousse');
  return {
    default: ({ onPick }: { onPick(emoji: string): void }) => (
      <EmojiPicker.Root
        className="composer-emoji-picker"
        emojibaseUrl={`${import.meta.env.BASE_URL}emojibase`}
        columns={8}
        onEmojiSelect={(emoji) => onPick(emoji.emoji)}
      >
        <EmojiPicker.Search className="emoji-search" aria-label="Search emoji" placeholder="Search emoji" autoFocus />
        <EmojiPicker.Viewport className="emoji-viewport">
          <EmojiPicker.Loading className="emoji-status">Loading…</EmojiPicker.Loading>
          <EmojiPicker.Empty className="emoji-status">No emoji found.</EmojiPicker.Empty>
          <EmojiPicker.List
            components={{
              CategoryHeader: ({ category, ...props }) => (
                <div className="emoji-category" {...props}>
                  {category.label}
                </div>
              ),
              Row: ({ children, ...props }) => (
                <div className="emoji-row" {...props}>
                  {children}
                </div>
              ),
              Emoji: ({ emoji, ...props }) => (
                <button {...props} className="emoji-cell" aria-label={emoji.label}>
                  {emoji.emoji}
                </button>
              ),
            }}
          />
        </EmojiPicker.Viewport>
      </EmojiPicker.Root>
    ),
  };
});

export function EmojiButton({ onPick }: { onPick(emoji: string): void }) {
  const [open, setOpen] = useState(false);
  return (
    <div className="emoji-button">
      <button
        type="button"
        className="icon-button"
        aria-label="Emoji"
        aria-expanded={open}
        onClick={() => setOpen((value) => !value)}
      >
        <span aria-hidden="true">😊</span>
      </button>
      {open && (
        <div className="emoji-popover" role="dialog" aria-label="Emoji picker">
          <Suspense fallback={<p className="emoji-status">Loading…</p>}>
            <Picker
              onPick={(emoji) => {
                onPick(emoji);
                setOpen(false);
              }}
            />
          </Suspense>
        </div>
      )}
    </div>
  );
}
