// Bounds on the shape of an operation, checked before it runs, on HTTP and on
// WebSocket alike (both go through Yoga's envelop). graphql-armor does the
// counting; a rejected operation gets a GRAPHQL_VALIDATION_FAILED error that
// names the limit.
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { GraphQLError, NoSchemaIntrospectionCustomRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';

// Our deepest legitimate selection (conversations > edges > node > messages >
// edges > node > sender > ...) is 8 levels; introspection is not counted.
export const MAX_DEPTH = 10;
export const MAX_ALIASES = 15;
export const MAX_DIRECTIVES = 10;
export const MAX_TOKENS = 2_000;
export const MAX_COST = 5_000;
/**
 * Deepest nesting of brackets a document may have. graphql-js parses
 * recursively, so a list literal nested thousands deep would overflow the
 * stack before any limit above is checked; this is counted before parsing.
 */
export const MAX_NESTING = 64;

/** The deepest bracket nesting in a GraphQL document, ignoring strings and comments. */
export function bracketNesting(source: string): number {
  let depth = 0;
  let deepest = 0;
  for (let index = 0; index < source.length; index++) {
    const char = source[index];
    if (char === '#') {
      while (index < source.length && source[index] !== '\n') index++;
    } else if (source.startsWith('"""', index)) {
      const end = source.indexOf('"""', index + 3);
      index = end === -1 ? source.length : end + 2;
    } else if (char === '"') {
      for (index++; index < source.length && source[index] !== '"' && source[index] !== '\n'; index++) {
        if (source[index] === '\\') index++;
      }
    } else if (char === '{' || char === '[' || char === '(') {
      deepest = Math.max(deepest, ++depth);
    } else if (char === '}' || char === ']' || char === ')') {
      depth--;
    }
  }
  return deepest;
}

/**
 * armor throws its errors without a code; give them the one Yoga gives other
 * validation errors (the same in-place tagging Yoga itself does).
 */
function tagValidationError(_context: unknown, error: GraphQLError): void {
  (error.extensions as Record<string, unknown>).code ??= 'GRAPHQL_VALIDATION_FAILED';
}

const reported = { exposeLimits: true, onReject: [tagValidationError] };

export function operationLimitPlugins({ exposeSchema }: { exposeSchema: boolean }): Plugin[] {
  const plugins: Plugin[] = [
    {
      onParse({ params }) {
        if (typeof params.source === 'string' && bracketNesting(params.source) > MAX_NESTING) {
          throw new GraphQLError(`Syntax Error: brackets nested deeper than ${MAX_NESTING}.`, {
            extensions: { code: 'GRAPHQL_PARSE_FAILED' },
          });
        }
      },
    },
    EnvelopArmorPlugin({
      maxDepth: { ...reported, n: MAX_DEPTH, ignoreIntrospection: true, flattenFragments: true },
      maxAliases: { ...reported, n: MAX_ALIASES },
      maxDirectives: { ...reported, n: MAX_DIRECTIVES },
      maxTokens: { ...reported, n: MAX_TOKENS },
      costLimit: { ...reported, maxCost: MAX_COST, ignoreIntrospection: true },
      // "Did you mean …?" would reveal the schema that introspection hides.
      blockFieldSuggestion: { enabled: !exposeSchema },
    }) as Plugin,
  ];
  if (!exposeSchema) {
    plugins.push({ onValidate: ({ addValidationRule }) => addValidationRule(NoSchemaIntrospectionCustomRule) });
  }
  return plugins;
}
