import { readFileSync } from 'node:fs';
import { buildSchema, findBreakingChanges } from 'graphql';
import { describe, expect, it } from 'vitest';
import { printedSchema, SCHEMA_FILE } from '../src/schema/print.js';

const CONTRACT_FILE = new URL('../../shared/api-contract.graphql', import.meta.url);

/**
 * Parts of `../shared/contract/` whose issue is resolved: from then on they bind
 * like the base contract. One name a line, added with the issue that builds it.
 */
const BINDING_PARTS: string[] = ['groups-sessions', 'search', 'push', 'attachments', 'bots'];

function contractSource(): string {
  const parts = BINDING_PARTS.map((part) =>
    readFileSync(new URL(`../../shared/contract/${part}.graphql`, import.meta.url), 'utf8'),
  );
  return [readFileSync(CONTRACT_FILE, 'utf8'), ...parts].join('\n');
}

describe('schema.graphql', () => {
  it('is what `npm run schema:print` prints from the builder (run it after changing the schema)', () => {
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(printedSchema());
  });

  it('makes no breaking change to the public contract and its binding parts', () => {
    const contract = buildSchema(contractSource());
    const ours = buildSchema(readFileSync(SCHEMA_FILE, 'utf8'));
    expect(findBreakingChanges(contract, ours).map((change) => change.description)).toEqual([]);
  });
});
