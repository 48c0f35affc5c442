#!/bin/sh
# `npm start`: in production the compiled server (`npm run build` makes
# dist/main.js) under plain node; otherwise the TypeScript sources through tsx,
# as before. exec, so the server itself receives SIGTERM and drains.
if [ "$NODE_ENV" = production ]; then
  if [ ! -f dist/main.js ]; then
    echo 'dist/main.js is missing: run `npm run build` first' >&2
    exit 1
  fi
  exec node --enable-source-maps dist/main.js
fi
exec tsx src/main.ts
