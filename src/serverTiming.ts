// Server-Timing on every response Yoga answers: the time the server spent on the
// request, so a client or the benchmark can tell server time from network time.
// Hand-written: no Yoga plugin sets it, and it is two hooks.
import type { Plugin } from 'graphql-yoga';

export function useServerTiming(): Plugin {
  const startedAt = new WeakMap<Request, number>();
  return {
    onRequest({ request }) {
      startedAt.set(request, performance.now());
    },
    onResponse({ request, response }) {
      const start = startedAt.get(request);
      if (start !== undefined)
        response.headers.set('server-timing', `total;dur=${(performance.now() - start).toFixed(2)}`);
    },
  };
}
