import react from '@vitejs/plugin-react';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

/** The API server that `npm run dev` starts next to Vite. */
const API_TARGET = process.env.API_URL ?? `http://127.0.0.1:${process.env.PORT ?? 4000}`;

/** The emoji picker's data (frimousse reads `${emojibaseUrl}/en/*.json`), served from here rather than a CDN. */
function emojibaseData(): Plugin {
  const files = ['data.json', 'messages.json'];
  const read = (file: string) => readFileSync(fileURLToPath(import.meta.resolve(`emojibase-data/en/${file}`)));
  return {
    name: 'emojibase-data',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const file = files.find((name) => req.url === `/emojibase/en/${name}`);
        if (!file) return next();
        res.setHeader('content-type', 'application/json');
        res.end(read(file));
      });
    },
    generateBundle() {
      for (const file of files) this.emitFile({ type: 'asset', fileName: `emojibase/en/${file}`, source: read(file) });
    },
  };
}

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [react(), emojibaseData()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true },
  server: {
    port: Number(process.env.CLIENT_PORT ?? 5173),
    // Queries, mutations and the graphql-ws socket all go to the API on the same path.
    proxy: { '/graphql': { target: API_TARGET, ws: true } },
  },
});
