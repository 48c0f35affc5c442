// The instances run the compiled server, as production does: build it first.
import { execFileSync } from 'node:child_process';

export default function buildServer(): void {
  execFileSync(process.execPath, ['--import', 'tsx', 'scripts/build-server.ts'], { stdio: 'inherit' });
}
