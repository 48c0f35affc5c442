// `npm run schema:print`: writes schema.graphql, the committed, reviewed form of the API.
import { writeFileSync } from 'node:fs';
import { printSchema } from 'graphql';
import { schema } from './index.js';

export const SCHEMA_FILE = new URL('../../schema.graphql', import.meta.url);

export function printedSchema(): string {
  return `${printSchema(schema)}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(SCHEMA_FILE, printedSchema());
  process.stdout.write('wrote schema.graphql\n');
}
