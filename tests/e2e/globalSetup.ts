// The server serves client/dist: build it first when the sources changed.
import { existsSync } from 'node:fs';
import { buildClient } from '../../client/scripts/build.js';
import { CHROMIUM_PATH } from './harness.js';

export default async function setup(): Promise<void> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`${CHROMIUM_PATH} is missing: apt-get install -y chromium fonts-noto-color-emoji`);
  }
  await buildClient({ ifStale: true });
}
