// Summarizes a V8 CPU profile (node --cpu-prof): the functions with the most
// self time, and self time per package or source folder.
//
//   tsx bench/profile-summary.ts <file.cpuprofile> [top=25] [skipSeconds=0]
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

type ProfileNode = {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
};
type Profile = { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };

/** Where a script belongs: its npm package, a folder of this repository, or a node internal. */
function areaOf(url: string): string {
  if (!url) return '(native / idle / gc)';
  if (url.startsWith('node:')) return 'node internals';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const match = /\/(src|bench|migrations)\/(.*)$/.exec(url);
  return match ? `${match[1]}/${match[2]!.split('/').slice(0, -1).join('/') || '.'}` : url;
}

/** `skipSeconds` leaves out the start of the profile (module loading, migrations). */
export function summarizeProfile(path: string, top = 25, skipSeconds = 0): string {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMicros = new Map<number, number>();
  let elapsed = 0;
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    elapsed += delta;
    if (elapsed < skipSeconds * 1e6) return;
    selfMicros.set(id, (selfMicros.get(id) ?? 0) + delta);
  });
  let total = 0;
  const functions = new Map<string, number>();
  const areas = new Map<string, number>();
  for (const [id, micros] of selfMicros) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    total += micros;
    const short = url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(src|bench)\//, '$1/');
    const key = `${functionName || '(anonymous)'}  ${short}${url ? `:${lineNumber + 1}` : ''}`;
    functions.set(key, (functions.get(key) ?? 0) + micros);
    const area = functionName === '(idle)' ? '(idle)' : functionName === '(garbage collector)' ? '(gc)' : areaOf(url);
    areas.set(area, (areas.get(area) ?? 0) + micros);
  }
  const percent = (micros: number) => `${((100 * micros) / total).toFixed(1).padStart(5)} %`;
  const skipped = skipSeconds > 0 ? ` after the first ${skipSeconds} s` : '';
  const lines = [`${path}: ${(total / 1e6).toFixed(1)} s sampled${skipped}`, '', 'self time by area:'];
  for (const [area, micros] of [...areas].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
    lines.push(`  ${percent(micros)}  ${area}`);
  }
  lines.push('', `top ${top} functions by self time:`);
  for (const [name, micros] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    lines.push(`  ${percent(micros)}  ${name}`);
  }
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [path, top, skip] = process.argv.slice(2);
  if (!path) {
    console.error('usage: tsx bench/profile-summary.ts <file.cpuprofile> [top]');
    process.exit(2);
  }
  console.log(summarizeProfile(path, Number(top ?? 25), Number(skip ?? 0)));
}
