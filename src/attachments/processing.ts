// What an upload is, from its bytes: the type is sniffed (file-type), never
// taken from the client's Content-Type or file name. JPEG, PNG, GIF and WebP
// that decode become IMAGE: re-encoded by sharp with the EXIF orientation
// applied and all metadata (EXIF, GPS, XMP) dropped, plus a thumbnail. Anything
// else is FILE, served only as a download.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { fileTypeFromFile, supportedExtensions } from 'file-type';
import sharp from 'sharp';
import type { AttachmentKind } from '../db/entities/index.js';
import { badUserInput } from '../errors.js';
import { codePointLength } from '../codePoints.js';

/** Larger images are refused before they are decoded (a decompression bomb is small on the wire). */
export const MAX_IMAGE_PIXELS = 50_000_000;
export const THUMBNAIL_MAX_SIDE = 512;
export const FILENAME_MAX = 255;

const IMAGE_FORMATS = {
  'image/jpeg': 'jpeg',
  'image/png': 'png',
  'image/gif': 'gif',
  'image/webp': 'webp',
} as const satisfies Record<string, keyof sharp.FormatEnum>;

/** Extensions that name the same type as file-type's canonical one. */
const EXTENSION_ALIASES: Record<string, string> = { jpeg: 'jpg', jpe: 'jpg', jfif: 'jpg', tiff: 'tif', htm: 'html' };

export type PreparedUpload = {
  kind: AttachmentKind;
  filename: string;
  contentType: string;
  /** The file to store: the upload itself, or for an IMAGE its re-encoded copy. */
  path: string;
  byteSize: number;
  width: number | null;
  height: number | null;
  thumbnail: { path: string; byteSize: number } | null;
};

/** The name as it will be shown: NFC, trimmed; BAD_USER_INPUT for a name that is empty, too long or a path. */
export function checkFilename(raw: string): string {
  const name = raw.normalize('NFC').trim();
  if (name.length === 0) throw badUserInput('file', 'The file needs a name.');
  if (codePointLength(name) > FILENAME_MAX) {
    throw badUserInput('file', `File names are limited to ${FILENAME_MAX} characters.`);
  }
  if (/[/\\]/.test(name)) throw badUserInput('file', 'The file name must not contain / or \\.');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name) || name === '.' || name === '..') {
    throw badUserInput('file', 'The file name contains characters that are not allowed.');
  }
  return name;
}

const extensionOf = (filename: string): string | null => {
  const match = /\.([^.]+)$/.exec(filename);
  if (!match) return null;
  const extension = match[1]!.toLowerCase();
  return EXTENSION_ALIASES[extension] ?? extension;
};

/**
 * Sniffs and, for an image, re-encodes the staged file at `path` into
 * `workDir`. Throws BAD_USER_INPUT for an empty file, a name whose extension
 * claims a type the content is not, or an image that does not decode.
 */
export async function prepareUpload(
  path: string,
  size: number,
  rawFilename: string,
  workDir: string,
): Promise<PreparedUpload> {
  const filename = checkFilename(rawFilename);
  if (size === 0) throw badUserInput('file', 'The file is empty.');
  const detected = await fileTypeFromFile(path);
  const claimed = extensionOf(filename);
  const actual = detected ? (EXTENSION_ALIASES[detected.ext] ?? detected.ext) : null;
  // A name that claims a type file-type would recognise must match the content (an HTML page named .png is refused).
  if (claimed !== null && claimed !== actual && isSniffable(claimed)) {
    throw badUserInput(
      'file',
      actual
        ? `The file's content is ${actual.toUpperCase()}, not what its name (.${claimed}) says.`
        : `The file's content is not ${claimed.toUpperCase()}, as its name says.`,
    );
  }
  const format = detected ? IMAGE_FORMATS[detected.mime as keyof typeof IMAGE_FORMATS] : undefined;
  if (!detected || !format) {
    return {
      kind: 'FILE',
      filename,
      contentType: detected?.mime ?? 'application/octet-stream',
      path,
      byteSize: size,
      width: null,
      height: null,
      thumbnail: null,
    };
  }
  return prepareImage(path, filename, detected.mime, format, workDir);
}

const sniffable = new Set<string>(
  [...supportedExtensions].map((extension) => EXTENSION_ALIASES[extension] ?? extension),
);
const isSniffable = (extension: string) => sniffable.has(extension);

async function prepareImage(
  path: string,
  filename: string,
  contentType: string,
  format: keyof sharp.FormatEnum,
  workDir: string,
): Promise<PreparedUpload> {
  const undecodable = () => badUserInput('file', 'The image could not be read: it is damaged or incomplete.');
  // The header alone: the pixel count is checked before anything is decoded.
  const metadata = await sharp(path)
    .metadata()
    .catch(() => Promise.reject(undecodable()));
  const frames = metadata.pages ?? 1;
  const frameHeight = metadata.pageHeight ?? metadata.height ?? 0;
  if (!metadata.width || !frameHeight) throw undecodable();
  if (metadata.width * frameHeight * frames > MAX_IMAGE_PIXELS) {
    throw badUserInput('file', `Images are limited to ${MAX_IMAGE_PIXELS.toLocaleString('en')} pixels.`);
  }
  const options: sharp.SharpOptions = { limitInputPixels: MAX_IMAGE_PIXELS, failOn: 'truncated', animated: frames > 1 };
  const output = join(workDir, randomUUID());
  // rotate() applies the EXIF orientation; sharp writes no metadata unless asked, so EXIF and GPS are gone.
  const encoded = await sharp(path, options)
    .rotate()
    .toFormat(format)
    .toFile(output)
    .catch(() => Promise.reject(undecodable()));
  const height = frames > 1 ? (encoded.height / frames) | 0 : encoded.height;
  const thumbnailPath = `${output}-thumb`;
  const thumbnail = await sharp(output, { failOn: 'truncated' })
    .resize(THUMBNAIL_MAX_SIDE, THUMBNAIL_MAX_SIDE, { fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 80 })
    .toFile(thumbnailPath);
  return {
    kind: 'IMAGE',
    filename,
    contentType,
    path: output,
    byteSize: encoded.size,
    width: encoded.width,
    height,
    thumbnail: { path: thumbnailPath, byteSize: thumbnail.size },
  };
}
