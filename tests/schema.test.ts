import { readFileSync } from 'node:fs';
import { buildSchema, findBreakingChanges } from 'graphql';
import { describe, expect, it } from 'vitest';
import { printedSchema, SCHEMA_FILE } from '../src/schema/print.js';

const CONTRACT_FILE = new URL('../../shared/api-contract.graphql', import.meta.url);

describe('schema.graphql', () => {
  it('is what `npm run schema:print` prints from the builder (run it after changing the schema)', () => {
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(printedSchema());
  });

  it('makes no breaking change to the public contract', () => {
    const contract = buildSchema(readFileSync(CONTRACT_FILE, 'utf8'));
    const ours = buildSchema(readFileSync(SCHEMA_FILE, 'utf8'));
    expect(findBreakingChanges(contract, ours).map((change) => change.description)).toEqual([]);
  });
});
