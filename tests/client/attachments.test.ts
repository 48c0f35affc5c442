// The client's wording for attachments: the list preview of a message without
// a body, file sizes, and the errors a person reads when an upload is refused.
import { describe, expect, it } from 'vitest';
import { attachmentPreview } from '../../client/src/lib/conversations.js';
import { describeUploadError, formatBytes } from '../../client/src/lib/uploads.js';

describe('attachments in the client', () => {
  it('previews a message without a body by what it carries', () => {
    expect(attachmentPreview([{ kind: 'IMAGE', filename: 'photo.jpg' }])).toBe('Photo');
    expect(attachmentPreview([{ kind: 'FILE', filename: 'report.pdf' }])).toBe('📎 report.pdf');
    expect(
      attachmentPreview([
        { kind: 'IMAGE', filename: 'a.jpg' },
        { kind: 'IMAGE', filename: 'b.jpg' },
      ]),
    ).toBe('2 photos');
    expect(
      attachmentPreview([
        { kind: 'IMAGE', filename: 'a.jpg' },
        { kind: 'FILE', filename: 'b.pdf' },
      ]),
    ).toBe('📎 2 files');
  });

  it('formats sizes', () => {
    expect(formatBytes(125)).toBe('125 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(25 * 1024 * 1024)).toBe('25 MB');
  });

  it('says why an upload was refused', () => {
    const tooLarge = { errors: [{ message: 'x', extensions: { code: 'PAYLOAD_TOO_LARGE', maxBytes: 26214400 } }] };
    expect(describeUploadError('big.mov', tooLarge, 413)).toBe('big.mov is too large (the limit is 25 MB).');
    const refused = { errors: [{ message: 'The file is empty.', extensions: { code: 'BAD_USER_INPUT' } }] };
    expect(describeUploadError('a.txt', refused, 200)).toBe('a.txt was refused: The file is empty.');
    expect(describeUploadError('a.txt', null, 0)).toBe('a.txt could not be sent: no connection.');
  });
});
