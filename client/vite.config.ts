import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/** The API server that `npm run dev` starts next to Vite. */
const API_TARGET = process.env.API_URL ?? `http://127.0.0.1:${process.env.PORT ?? 4000}`;

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true },
  server: {
    port: Number(process.env.CLIENT_PORT ?? 5173),
    // Queries, mutations and the graphql-ws socket all go to the API on the same path.
    proxy: { '/graphql': { target: API_TARGET, ws: true } },
  },
});
