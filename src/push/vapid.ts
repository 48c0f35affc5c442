// The VAPID key pair every instance signs pushes with (RFC 8292): from the
// configuration, or generated once and kept in the database.
import { writeAlone } from '../db/transaction.js';
import type { DataSource } from 'typeorm';
import webpush from 'web-push';
import type { PushConfig } from '../config.js';
import { PushState } from './entities.js';

export type VapidKeys = { publicKey: string; privateKey: string };

const STATE_ROW_ID = 1;

/**
 * The configured keys, or the stored pair, generating and storing one on the
 * first start. Instances starting at once each generate a pair, but the
 * conditional write lets only the first store it, and every one then reads
 * back that pair: all instances sign with the same key.
 */
export async function loadVapidKeys(dataSource: DataSource, config: PushConfig): Promise<VapidKeys> {
  if (config.vapidKeys) return config.vapidKeys;
  const stored = await readStoredKeys(dataSource);
  if (stored) return stored;
  const generated = webpush.generateVAPIDKeys();
  await writeAlone(dataSource, (manager) =>
    manager
      .createQueryBuilder()
      .update(PushState)
      .set({ vapidPublicKey: generated.publicKey, vapidPrivateKey: generated.privateKey })
      .where('id = :id AND vapidPublicKey IS NULL', { id: STATE_ROW_ID })
      .execute(),
  );
  const winner = await readStoredKeys(dataSource);
  if (!winner) throw new Error('the VAPID keys could not be stored');
  return winner;
}

async function readStoredKeys(dataSource: DataSource): Promise<VapidKeys | null> {
  const row = await dataSource.manager.findOneByOrFail(PushState, { id: STATE_ROW_ID });
  return row.vapidPublicKey && row.vapidPrivateKey
    ? { publicKey: row.vapidPublicKey, privateKey: row.vapidPrivateKey }
    : null;
}
