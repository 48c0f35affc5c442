// A fake OpenAI-compatible model server on loopback: `POST /v1/chat/completions`
// answering `chat.completion.chunk` server-sent events, scripted per test (slow
// chunks, an error status, a cut stream, a stream that never ends), recording
// each request's body and whether the client aborted it before the answer ended.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type ModelScript = {
  /** The content deltas, in order. */
  chunks?: string[];
  /** Before each chunk (the first included). */
  delayMs?: number;
  /** Before the first chunk instead of delayMs: the model "thinks". */
  firstDelayMs?: number;
  /** Sends the first `chunks` chunks, then waits for `until` and sends the rest (the first of them at once): a test decides when more text exists. */
  hold?: { chunks: number; until: Promise<unknown> };
  /** Answer with this status and an OpenAI-style error body instead of a stream. */
  status?: number;
  /**
   * How the stream ends after the chunks: `done` (finish_reason, usage when
   * asked, `[DONE]`), `cut` (the connection is destroyed), `close` (a clean end
   * without finish_reason nor `[DONE]`), `hang` (nothing more until the client goes).
   */
  end?: 'done' | 'cut' | 'close' | 'hang';
  /** Reported in the last chunk when the client asked for usage. */
  usage?: { prompt_tokens: number; completion_tokens: number };
};

export type ModelRequest = {
  body: {
    model: string;
    messages: { role: string; content: string }[];
    stream?: boolean;
    max_tokens?: number;
    tools?: unknown;
    stream_options?: { include_usage?: boolean };
  };
  authorization: string | undefined;
  /** The client closed the connection before the answer ended (an abort). */
  aborted: boolean;
  /** The answer ended (any way but an abort). */
  ended: boolean;
};

export type FakeModelServer = {
  /** The OpenAI-compatible base URL, `http://127.0.0.1:<port>/v1`. */
  baseUrl: string;
  requests: ModelRequest[];
  /** Scripts the next request (queued in order); unscripted requests answer `defaultScript`. */
  next(script: ModelScript): void;
  defaultScript: ModelScript;
  close(): Promise<void>;
};

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function startFakeModelServer(): Promise<FakeModelServer> {
  const queue: ModelScript[] = [];
  const requests: ModelRequest[] = [];
  const open = new Set<ServerResponse>();

  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
      return;
    }
    const request: ModelRequest = {
      body: JSON.parse(raw) as ModelRequest['body'],
      authorization: req.headers.authorization,
      aborted: false,
      ended: false,
    };
    requests.push(request);
    const script = queue.shift() ?? server.defaultScript;
    res.on('close', () => {
      if (!res.writableFinished && !request.ended) request.aborted = true;
    });
    if (script.status) {
      request.ended = true;
      res
        .writeHead(script.status, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { message: 'the model is overloaded', type: 'server_error' } }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.flushHeaders();
    const event = (payload: unknown) => res.write(`data: ${JSON.stringify(payload)}\n\n`);
    const chunk = (delta: Record<string, unknown>, finishReason: string | null) => ({
      id: 'chatcmpl-fake',
      object: 'chat.completion.chunk',
      created: Math.floor(Date.now() / 1000),
      model: request.body.model,
      choices: [{ index: 0, delta, finish_reason: finishReason }],
    });
    for (const [index, content] of (script.chunks ?? []).entries()) {
      const delay = index === 0 ? (script.firstDelayMs ?? script.delayMs) : script.delayMs;
      if (index === script.hold?.chunks) await script.hold.until;
      else if (delay) await sleep(delay);
      if (request.aborted) return;
      event(chunk(index === 0 ? { role: 'assistant', content } : { content }, null));
    }
    switch (script.end ?? 'done') {
      case 'done':
        event(chunk({}, 'stop'));
        if (request.body.stream_options?.include_usage) {
          event({
            id: 'chatcmpl-fake',
            object: 'chat.completion.chunk',
            created: Math.floor(Date.now() / 1000),
            model: request.body.model,
            choices: [],
            usage: { prompt_tokens: 10, completion_tokens: 5, ...script.usage, total_tokens: 0 },
          });
        }
        res.write('data: [DONE]\n\n');
        request.ended = true;
        res.end();
        return;
      case 'cut':
        request.ended = true;
        // The chunks reach the client first; then the connection drops.
        await sleep(50);
        res.socket?.destroy();
        return;
      case 'close':
        request.ended = true;
        res.end();
        return;
      case 'hang':
        open.add(res);
        return;
    }
  }

  const http = createServer((req, res) => {
    answer(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  const server: FakeModelServer = {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    next: (script) => void queue.push(script),
    defaultScript: { chunks: ['Hello', ', ', 'world.'] },
    async close() {
      for (const res of open) res.destroy();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
  return server;
}
