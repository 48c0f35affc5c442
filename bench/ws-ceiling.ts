// The ceiling: a bare `ws` server that relays each received message to every
// socket of a room, with no GraphQL, no auth and no storage. What our server
// does per message costs at least this much; the gap is the price of the rest.
//
// Protocol (text frames):
//   J<room>               join a room (one message, like subscribing)
//   M<room>\n<payload>    relay <payload> verbatim to every socket in the room
//                         (the sender too if it joined), then answer "A"
// HTTP: POST /send?room=<room> relays the request body the same way and
// answers 200; GET /health answers 200.
//
// Run: PORT=4100 HOST=127.0.0.1 node --import tsx bench/ws-ceiling.ts
import { createServer } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';

const port = Number(process.env.PORT ?? 4100);
const host = process.env.HOST ?? '127.0.0.1';

const rooms = new Map<string, Set<WebSocket>>();
const NEWLINE = 0x0a;

function relay(room: string, payload: Buffer): void {
  const sockets = rooms.get(room);
  if (!sockets) return;
  for (const socket of sockets) socket.send(payload, { binary: false });
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (req.method === 'GET' && url.pathname === '/health') {
    res.writeHead(200).end('ok');
    return;
  }
  if (req.method === 'POST' && url.pathname === '/send') {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      relay(url.searchParams.get('room') ?? '', Buffer.concat(chunks));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    return;
  }
  res.writeHead(404).end();
});

const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on('connection', (socket) => {
  const joined = new Set<string>();
  socket.on('message', (data: Buffer) => {
    const kind = data[0];
    if (kind === 0x4a /* J */) {
      const room = data.subarray(1).toString();
      let sockets = rooms.get(room);
      if (!sockets) rooms.set(room, (sockets = new Set()));
      sockets.add(socket);
      joined.add(room);
    } else if (kind === 0x4d /* M */) {
      const newline = data.indexOf(NEWLINE);
      if (newline < 0) return;
      relay(data.subarray(1, newline).toString(), data.subarray(newline + 1));
      socket.send('A');
    }
  });
  socket.on('close', () => {
    for (const room of joined) rooms.get(room)?.delete(socket);
  });
});

server.listen(port, host, () => console.log(`ws ceiling listening on http://${host}:${port}`));
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    for (const socket of wss.clients) socket.terminate();
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 1_000).unref();
  });
}
