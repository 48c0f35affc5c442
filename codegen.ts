// Types every GraphQL operation of the web client from the committed schema.
// `npm run codegen` rewrites client/src/gql; a test fails when it is stale.
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: 'schema.graphql',
  // Operations live next to the code that uses them.
  documents: ['client/src/**/*.{ts,tsx}', '!client/src/gql/**/*'],
  // Relative imports with .js, so the generated code also typechecks under NodeNext (the unit tests).
  emitLegacyCommonJSImports: false,
  ignoreNoDocuments: false,
  generates: {
    'client/src/gql/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        scalars: { DateTime: 'string' },
        enumsAsTypes: true,
        useTypeImports: true,
        skipTypename: false,
      },
    },
  },
};

export default config;
