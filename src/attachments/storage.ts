// Where attachment bytes live, behind one interface: a folder on this machine
// (the default, nothing to set up) or an S3-compatible bucket (several
// instances, which must all read what any of them stored). Keys are chosen by
// the server ("<conversationId>/<uuid>"), never from a client's file name.
import type { Readable } from 'node:stream';
import type { AttachmentConfig } from '../config.js';
import { LocalDiskStorage } from './localStorage.js';
import { S3Storage } from './s3Storage.js';

export type ByteRange = { start: number; end: number };

export interface AttachmentStorage {
  /** Stores the file at `sourcePath` (`size` bytes) under `key`; a reader never sees it half-written. */
  put(key: string, sourcePath: string, size: number, contentType: string): Promise<void>;
  /** The object's bytes, or the inclusive `range` of them; null when there is no such object. */
  read(key: string, range?: ByteRange): Promise<Readable | null>;
  /** Deletes the objects; a missing one is no error (the clean-up may race a delete). */
  delete(keys: readonly string[]): Promise<void>;
  close(): void;
}

export function createStorage(config: AttachmentConfig['storage']): AttachmentStorage {
  return config.driver === 's3' ? new S3Storage(config) : new LocalDiskStorage(config.directory);
}

const KEY_PATTERN = /^\d+\/[0-9a-f-]{36}(-thumb)?$/;

/** Keys are made here only; anything else (a path, "..") is refused before it reaches a driver. */
export function checkKey(key: string): string {
  if (!KEY_PATTERN.test(key)) throw new Error(`invalid storage key ${JSON.stringify(key)}`);
  return key;
}
