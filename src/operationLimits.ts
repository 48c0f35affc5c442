// Bounds on the shape of an operation, checked before it runs, on HTTP and on
// WebSocket alike (both go through Yoga's envelop). graphql-armor does the
// counting; a rejected operation gets a GRAPHQL_VALIDATION_FAILED error that
// names the limit.
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { type GraphQLError, NoSchemaIntrospectionCustomRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';

// Our deepest legitimate selection (conversations > edges > node > messages >
// edges > node > sender > ...) is 8 levels; introspection is not counted.
export const MAX_DEPTH = 10;
export const MAX_ALIASES = 15;
export const MAX_DIRECTIVES = 10;
export const MAX_TOKENS = 2_000;
export const MAX_COST = 5_000;

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
