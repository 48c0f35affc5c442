// CI fails when the committed typed client (client/src/gql) no longer matches
// schema.graphql and the client's operations: run `npm run codegen`.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from '@graphql-codegen/cli';
import { expect, it } from 'vitest';
import config from '../../codegen.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const GENERATED_DIR = join(ROOT, 'client/src/gql');

it('client/src/gql is up to date with schema.graphql and the operations', async () => {
  const outputs: Array<{ filename: string; content: string }> = await generate(
    { ...config, cwd: ROOT, silent: true },
    false,
  );
  const expected = new Map(outputs.map((output) => [resolve(ROOT, output.filename), output.content]));
  const committed = readdirSync(GENERATED_DIR).map((name) => join(GENERATED_DIR, name));
  expect(committed.sort(), 'files in client/src/gql (run npm run codegen)').toEqual([...expected.keys()].sort());
  for (const [file, content] of expected) {
    expect(readFileSync(file, 'utf8'), `${file} is stale: run npm run codegen`).toBe(content);
  }
}, 60_000);
