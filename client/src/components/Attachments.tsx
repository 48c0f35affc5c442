// Attachments in the composer (previews with progress, remove) and in the log
// (image thumbnails with their aspect ratio reserved, full size in a dialog;
// documents as cards with name, size and a download link).
import { useEffect, useRef, useState } from 'react';
import { formatBytes, type UploadedAttachment } from '../lib/uploads.js';

export type Draft = {
  key: string;
  file: File;
  /** An object URL of the file for an image preview. */
  previewUrl: string | null;
  progress: number;
  uploaded: UploadedAttachment | null;
  error: string | null;
  abort(): void;
};

export function DraftList({ drafts, onRemove }: { drafts: Draft[]; onRemove(key: string): void }) {
  if (drafts.length === 0) return null;
  return (
    <ul className="draft-list" aria-label="Files to send">
      {drafts.map((draft) => (
        <li key={draft.key} className={`draft${draft.error ? ' failed' : ''}`}>
          {draft.previewUrl ? (
            <img className="draft-preview" src={draft.previewUrl} alt="" />
          ) : (
            <span className="draft-icon" aria-hidden="true">
              📄
            </span>
          )}
          <span className="draft-text">
            <span className="draft-name">{draft.file.name}</span>
            {draft.error ? (
              <span className="draft-error" role="alert">
                {draft.error}
              </span>
            ) : (
              <progress
                className="draft-progress"
                aria-label={`Upload of ${draft.file.name}`}
                max={1}
                value={draft.progress}
              />
            )}
          </span>
          <button
            type="button"
            className="icon-button"
            aria-label={`Remove ${draft.file.name}`}
            onClick={() => onRemove(draft.key)}
          >
            <span aria-hidden="true">✕</span>
          </button>
        </li>
      ))}
    </ul>
  );
}

type Attachment = Pick<
  UploadedAttachment,
  'id' | 'kind' | 'filename' | 'byteSize' | 'width' | 'height' | 'url' | 'thumbnailUrl'
>;

export function MessageAttachments({ attachments }: { attachments: readonly Attachment[] }) {
  const [open, setOpen] = useState<Attachment | null>(null);
  if (attachments.length === 0) return null;
  return (
    <div className="attachments">
      {attachments.map((attachment) =>
        attachment.kind === 'IMAGE' && attachment.thumbnailUrl ? (
          <button
            key={attachment.id}
            type="button"
            className="attachment-image"
            aria-label={`Open ${attachment.filename}`}
            onClick={() => setOpen(attachment)}
          >
            <img
              src={attachment.thumbnailUrl}
              alt={attachment.filename}
              // The real aspect ratio is known before the thumbnail loads: no layout jump.
              width={attachment.width ?? undefined}
              height={attachment.height ?? undefined}
              style={{ aspectRatio: `${attachment.width ?? 1} / ${attachment.height ?? 1}` }}
              loading="lazy"
            />
          </button>
        ) : (
          <a key={attachment.id} className="attachment-card" href={attachment.url} download={attachment.filename}>
            <span className="attachment-icon" aria-hidden="true">
              📄
            </span>
            <span className="attachment-text">
              <span className="attachment-name">{attachment.filename}</span>
              <span className="attachment-size">{formatBytes(attachment.byteSize)} · Download</span>
            </span>
          </a>
        ),
      )}
      {open && <ImageDialog attachment={open} onClose={() => setOpen(null)} />}
    </div>
  );
}

function ImageDialog({ attachment, onClose }: { attachment: Attachment; onClose(): void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const element = dialog.current;
    if (element && !element.open) element.showModal();
  }, []);
  return (
    <dialog
      ref={dialog}
      className="image-dialog"
      aria-label={attachment.filename}
      onClose={onClose}
      onClick={(event) => {
        if (event.target === dialog.current) dialog.current?.close();
      }}
    >
      <img
        src={attachment.url}
        alt={attachment.filename}
        width={attachment.width ?? undefined}
        height={attachment.height ?? undefined}
      />
      <div className="image-dialog-bar">
        <a href={attachment.url} download={attachment.filename} className="link-button">
          Download
        </a>
        <button type="button" className="button ghost small" onClick={() => dialog.current?.close()}>
          Close
        </button>
      </div>
    </dialog>
  );
}
