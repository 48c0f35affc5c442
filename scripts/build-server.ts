// Compiles the server for production: src/main.ts and everything it imports
// from this repository into one ES module, dist/main.js, with packages left to
// node_modules. `NODE_ENV=production npm start` runs it with plain node, so a
// production process neither loads a TypeScript loader nor transforms a file
// at start. esbuild (already here as tsx's compiler) rather than tsc: it reads
// the same tsconfig (experimentalDecorators for TypeORM) and takes a second.
// dist/main.js sits one folder below the root, like src/main.ts, so paths the
// code builds from import.meta.url (../client/dist) hold in both.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const started = Date.now();
await build({
  absWorkingDir: ROOT,
  entryPoints: ['src/main.ts'],
  outfile: 'dist/main.js',
  bundle: true,
  packages: 'external',
  platform: 'node',
  format: 'esm',
  target: 'node20',
  tsconfig: 'tsconfig.json',
  sourcemap: true,
  logLevel: 'warning',
});
process.stdout.write(`built dist/main.js in ${Date.now() - started} ms\n`);
