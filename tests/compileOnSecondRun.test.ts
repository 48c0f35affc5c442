// A document is compiled on its second run, never on its first
// (src/compiledExecution.ts): a client that sends a new query text with every
// request must not make the server compile each one. graphql-jit's compiler is
// watched here (it still compiles); the operations run on the real schema.
import { parse } from 'graphql';
import { describe, expect, it, vi } from 'vitest';

const compiles = vi.hoisted(() => ({ count: 0 }));
vi.mock('graphql-jit', async (importOriginal) => {
  const original = await importOriginal<typeof import('graphql-jit')>();
  return {
    ...original,
    compileQuery: (...args: Parameters<typeof original.compileQuery>) => {
      compiles.count++;
      return original.compileQuery(...args);
    },
  };
});

const { executeCompiled } = await import('../src/compiledExecution.js');
const { schema } = await import('../src/schema/index.js');

/** An anonymous caller's `me`: null, whichever way it runs. */
async function runMe(document: ReturnType<typeof parse>, operationName?: string) {
  return executeCompiled({ schema, document, operationName, contextValue: { viewer: null } });
}

describe('compiling documents', () => {
  it('compiles a document on its second run, once, and runs it compiled from then on', async () => {
    const document = parse('query Me { me { id } }');
    const before = compiles.count;
    expect(await runMe(document)).toEqual({ data: { me: null } });
    expect(compiles.count).toBe(before);
    expect(await runMe(document)).toEqual({ data: { me: null } });
    expect(compiles.count).toBe(before + 1);
    for (let run = 0; run < 5; run++) expect(await runMe(document)).toEqual({ data: { me: null } });
    expect(compiles.count).toBe(before + 1);
  });

  it('compiles nothing for documents that each run once, though their text differs only in spacing', async () => {
    const before = compiles.count;
    for (let spaces = 1; spaces <= 20; spaces++) {
      expect(await runMe(parse(`query Me {${' '.repeat(spaces)}me { id } }`))).toEqual({ data: { me: null } });
    }
    expect(compiles.count).toBe(before);
  });

  it('counts the runs of each operation of a document apart', async () => {
    const document = parse('query A { me { id } } query B { me { username } }');
    const before = compiles.count;
    await runMe(document, 'A');
    await runMe(document, 'B');
    expect(compiles.count).toBe(before);
    await runMe(document, 'A');
    expect(compiles.count).toBe(before + 1);
    await runMe(document, 'B');
    expect(compiles.count).toBe(before + 2);
  });
});
