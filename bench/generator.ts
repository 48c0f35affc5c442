// The load generator: one process (pinned to its own core by run.ts) that
// plays every client of a scenario against one target and measures.
//
// Timing: every message body carries its send time (microseconds on this
// process's monotonic clock, process.hrtime.bigint()), and the receiver takes
// its own reading first thing when a frame arrives, so a latency is computed
// on receipt without any clock shared between processes. Bodies look like
//   <tag>|<seq>|<sendMicros>|<padding>
// where tag says which phase the message belongs to (w = warm-up probe).
//
// The generator reports its own CPU use (process.cpuUsage) and event-loop
// delay for every measured window: above ~80 % of its core it measures itself
// more than the server, and the result is flagged "generator-bound".
//
// Usage (normally from run.ts): node --import tsx bench/generator.ts <job.json> <result.json>
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent, get } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { type Client, clientFor, type Identity, OPERATIONS, type Socket, type TargetKind } from './lib/clients.js';
import { CpuWindow, OwnCpuWindow, rssBytes } from './lib/proc.js';
import { round, Samples } from './lib/stats.js';

export type FanoutSpec = {
  scenario: 'fanout';
  subscribers: number;
  /** Messages per second from the one sender (open loop: not waiting for answers). */
  rate: number;
  seconds: number;
  /** Distinct users the subscriber sockets are spread over. */
  users: number;
  sendOver: 'ws' | 'http';
  bodyBytes: number;
};

export type ThroughputSpec = {
  scenario: 'throughput';
  pairs: number;
  /** Sends each sender keeps in flight (closed loop). */
  inFlight: number;
  seconds: number;
  transports: ('http' | 'ws')[];
  bodyBytes: number;
};

export type ConnectionsSpec = {
  scenario: 'connections';
  sockets: number;
  users: number;
  /** Messages sent to all sockets once they are open, one at a time. */
  messages: number;
  openConcurrency: number;
};

export type HistorySpec = {
  scenario: 'history';
  /** Sequential pages measured, for the newest page and for deep pages each (at most `seconds` each). */
  pages: number;
  /** Concurrent readers for the throughput part, which lasts `seconds`. */
  concurrency: number;
  seconds: number;
  pageSize: number;
  expectedMessages: number;
  username: string;
  password: string;
  title: string;
};

export type ScenarioSpec = FanoutSpec | ThroughputSpec | ConnectionsSpec | HistorySpec;
export type ScenarioName = ScenarioSpec['scenario'];

export type Job = {
  target: {
    name: string;
    kind: TargetKind;
    url: string;
    /** Our server's pid, for its RSS and CPU. */
    pid: number | null;
    /** Database server and Redis pids, for their CPU (the database is shared with whatever else runs). */
    dbPids: number[];
    redisPids: number[];
  };
  runTag: string;
  /** Our project (not a reference): loss, duplicates or errors count as failures. */
  strict: boolean;
  /** Pauses that let a server settle (before RSS readings, between scenarios); short in smoke runs. */
  settleMs: number;
  scenarios: ScenarioSpec[];
};

export type WindowStats = {
  seconds: number;
  generatorCpu: number;
  serverCpu: number | null;
  /**
   * The server's main thread (its event loop) alone. With the server pinned
   * to one core, the rest of serverCpu is its other threads (the garbage
   * collector's, libuv's pool, workers) taking turns with it on that core.
   */
  serverMainThreadCpu: number | null;
  dbCpu: number | null;
  redisCpu: number | null;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  healthP50Ms: number;
  healthP99Ms: number;
  healthMaxMs: number;
};

export type ResultRow = {
  target: string;
  scenario: ScenarioName;
  variant?: string;
  params: Record<string, unknown>;
  metrics: Record<string, number | null>;
  window: WindowStats | null;
  failures: string[];
  warnings: string[];
  /** Wall time of the whole scenario, setup included. */
  seconds?: number;
  /** With --repeat: how many rounds the row's medians come from, and each metric's [min, max] over them. */
  rounds?: number;
  spread?: Record<string, [number, number]>;
};

/** Above this share of its core the generator is the bottleneck. */
const GENERATOR_SATURATED_PERCENT = 80;
/** A drain ends when nothing arrived for this long. */
const DRAIN_QUIET_MS = 3_000;
const DRAIN_MAX_MS = 30_000;
/** The server's /health is probed this often during a measured window. */
const HEALTH_PROBE_MS = 200;
const healthAgent = new Agent({ keepAlive: true, maxSockets: 1 });

const EPOCH = process.hrtime.bigint();
/** Microseconds since the generator started, on the monotonic clock. */
const nowMicros = (ns: bigint = process.hrtime.bigint()) => Number(ns - EPOCH) / 1e3;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function makeBody(tag: string, seq: number, bodyBytes: number): string {
  const head = `${tag}|${seq}|${nowMicros().toFixed(1)}|`;
  return head.length >= bodyBytes ? head : head + 'x'.repeat(bodyBytes - head.length);
}

/** Parses a body made by makeBody: its seq and the latency in ms from send to `receivedNs`. */
function parseBody(body: string, receivedNs: bigint): { seq: number; latencyMs: number } {
  const first = body.indexOf('|');
  const second = body.indexOf('|', first + 1);
  const third = body.indexOf('|', second + 1);
  const seq = Number(body.slice(first + 1, second));
  const sentMicros = Number(body.slice(second + 1, third));
  return { seq, latencyMs: (nowMicros(receivedNs) - sentMicros) / 1e3 };
}

class Window {
  private readonly own = new OwnCpuWindow();
  private readonly server: CpuWindow | null;
  private readonly serverMainThread: CpuWindow | null;
  private readonly db: CpuWindow | null;
  private readonly redis: CpuWindow | null;
  private readonly loop = monitorEventLoopDelay({ resolution: 10 });
  private readonly started = performance.now();
  /** GET /health round trips during the window: how responsive the server stays under the load. */
  private readonly health = new Samples();
  private readonly healthTimer: NodeJS.Timeout;
  private healthPendingSince: number | null = null;

  constructor(job: Job) {
    this.server = job.target.pid ? new CpuWindow([job.target.pid]) : null;
    this.serverMainThread = job.target.pid ? new CpuWindow([job.target.pid], true) : null;
    this.db = job.target.dbPids.length ? new CpuWindow(job.target.dbPids) : null;
    this.redis = job.target.redisPids.length ? new CpuWindow(job.target.redisPids) : null;
    this.loop.enable();
    const url = new URL('/health', job.target.url);
    this.healthTimer = setInterval(() => {
      if (this.healthPendingSince !== null) return;
      const at = performance.now();
      this.healthPendingSince = at;
      const done = () => {
        if (this.healthPendingSince === at) this.health.add(performance.now() - at);
        this.healthPendingSince = null;
      };
      get(url, { agent: healthAgent }, (res) => res.resume().on('end', done)).on('error', done);
    }, HEALTH_PROBE_MS);
  }

  end(): WindowStats {
    this.loop.disable();
    clearInterval(this.healthTimer);
    // A probe still unanswered counts for as long as it has waited.
    if (this.healthPendingSince !== null) this.health.add(performance.now() - this.healthPendingSince);
    this.healthPendingSince = -1;
    const health = this.health.summary();
    return {
      healthP50Ms: health.p50,
      healthP99Ms: health.p99,
      healthMaxMs: health.max,
      seconds: round((performance.now() - this.started) / 1000, 2),
      generatorCpu: this.own.percent(),
      serverCpu: this.server?.percent() ?? null,
      serverMainThreadCpu: this.serverMainThread?.percent() ?? null,
      dbCpu: this.db?.percent() ?? null,
      redisCpu: this.redis?.percent() ?? null,
      loopDelayP99Ms: round(this.loop.percentile(99) / 1e6, 1),
      loopDelayMaxMs: round(this.loop.max / 1e6, 1),
    };
  }
}

/** Server CPU time per unit of work over a window, in microseconds (null without a server pid). */
function cpuMicrosPer(stats: WindowStats, units: number): number | null {
  if (stats.serverCpu === null || units === 0) return null;
  return round(((stats.serverCpu / 100) * stats.seconds * 1e6) / units, 0);
}

/** Opens `count` sockets, `concurrency` at a time; failures are counted, not thrown. */
async function openMany(
  count: number,
  concurrency: number,
  open: (index: number) => Promise<Socket>,
): Promise<{ sockets: Socket[]; failed: number; firstError: string | null }> {
  const sockets: Socket[] = [];
  let next = 0;
  let failed = 0;
  let firstError: string | null = null;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const index = next++;
        try {
          sockets.push(await open(index));
        } catch (error) {
          failed++;
          firstError ??= (error as Error).message;
        }
      }
    }),
  );
  return { sockets, failed, firstError };
}

/** Waits until `done()` or until nothing changed in `progress()` for DRAIN_QUIET_MS. */
async function drain(done: () => boolean, progress: () => number): Promise<void> {
  const started = Date.now();
  let last = progress();
  let lastChange = Date.now();
  while (!done() && Date.now() - lastChange < DRAIN_QUIET_MS && Date.now() - started < DRAIN_MAX_MS) {
    await sleep(20);
    const now = progress();
    if (now !== last) {
      last = now;
      lastChange = Date.now();
    }
  }
}

/**
 * Repeats `probe` until `live()` (subscriptions confirmed by a delivered probe),
 * at most one probe per `intervalMs`; false on timeout.
 */
async function untilLive(
  probe: () => Promise<unknown>,
  live: () => boolean,
  timeoutMs = 60_000,
  intervalMs = 250,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!live()) {
    if (Date.now() > deadline) return false;
    await probe().catch(() => undefined);
    const wait = Date.now() + intervalMs;
    while (!live() && Date.now() < wait) await sleep(10);
  }
  return true;
}

function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  return JSON.stringify(error)?.slice(0, 300) ?? String(error);
}

/** prefix: unique per scenario run, for usernames. */
type Context = { job: Job; client: Client; prefix: string };

function verdict(row: ResultRow, job: Job, checks: [boolean, string][]): ResultRow {
  for (const [bad, message] of checks) {
    if (!bad) continue;
    if (job.strict) row.failures.push(message);
    else row.warnings.push(message);
  }
  if (row.window && row.window.generatorCpu > GENERATOR_SATURATED_PERCENT) {
    row.warnings.push(`generator-bound: generator used ${row.window.generatorCpu}% of its core`);
  }
  return row;
}

/** What fails a scenario that broadcasts to many subscribers (fanout, connections). */
function broadcastChecks(counts: {
  live: boolean;
  warmedUp: number;
  subscribers: number;
  loss: number;
  expected: number;
  duplicates: number;
  sendErrors: number;
  subscriptionErrors: number;
  closed: number;
  opened: { failed: number };
}): [boolean, string][] {
  const { live, warmedUp, subscribers, loss, expected, duplicates, sendErrors, subscriptionErrors, closed, opened } =
    counts;
  return [
    [!live, `only ${warmedUp} of ${subscribers} subscriptions became live`],
    [loss > 0, `lost ${loss} of ${expected} deliveries`],
    [duplicates > 0, `${duplicates} duplicate deliveries`],
    [sendErrors > 0, `${sendErrors} sends failed`],
    [subscriptionErrors > 0, `${subscriptionErrors} subscription errors`],
    [opened.failed > 0, `${opened.failed} sockets failed to open`],
    [closed > 0, `${closed} sockets closed by the server`],
  ];
}

async function fanout(spec: FanoutSpec, { job, client, prefix }: Context): Promise<ResultRow> {
  const identities = await client.users(spec.users + 1, prefix);
  const sender = identities[0]!;
  const members = identities.slice(1);
  const channel = await client.group(sender, members, 'bench-fanout');
  const total = Math.max(1, Math.round(spec.rate * spec.seconds));
  const latencies = new Samples();
  let unique = 0;
  let duplicates = 0;
  let warmedUp = 0;
  let subscriptionErrors = 0;
  let firstSubscriptionError: string | null = null;
  let lastReceiptNs = 0n;

  const openStarted = performance.now();
  const opened = await openMany(spec.subscribers, 64, (index) => client.socket(members[index % members.length]!));
  const openSeconds = (performance.now() - openStarted) / 1000;
  opened.sockets.forEach((socket) => {
    const seen = new Uint8Array(total);
    let warm = false;
    socket.listen(
      channel,
      (body, receivedNs) => {
        if (body.charCodeAt(0) === 0x6d /* m */) {
          const { seq, latencyMs } = parseBody(body, receivedNs);
          if (seen[seq]) duplicates++;
          else {
            seen[seq] = 1;
            unique++;
            latencies.add(latencyMs);
          }
          lastReceiptNs = receivedNs;
        } else if (!warm) {
          warm = true;
          warmedUp++;
        }
      },
      (error) => {
        subscriptionErrors++;
        firstSubscriptionError ??= errorText(error);
      },
    );
  });
  const senderSocket = spec.sendOver === 'ws' ? await client.socket(sender) : null;
  const send = (body: string) =>
    senderSocket ? senderSocket.send(channel, body) : client.sendHttp(sender, channel, body);

  const subscribers = opened.sockets.length;
  let probes = 0;
  const live = await untilLive(
    () => send(makeBody('w', probes++, spec.bodyBytes)),
    () => warmedUp >= subscribers,
  );
  await sleep(job.settleMs / 2);

  const window = new Window(job);
  const sendLatencies = new Samples();
  let sendErrors = 0;
  let firstSendError: string | null = null;
  let maxSenderLagMs = 0;
  const pending: Promise<void>[] = [];
  const intervalMs = 1000 / spec.rate;
  const firstSendNs = process.hrtime.bigint();
  const started = performance.now();
  await new Promise<void>((resolve) => {
    let sent = 0;
    const tick = () => {
      const now = performance.now();
      const due = Math.min(total, Math.floor((now - started) / intervalMs) + 1);
      while (sent < due) {
        maxSenderLagMs = Math.max(maxSenderLagMs, now - (started + sent * intervalMs));
        const seq = sent++;
        const at = performance.now();
        pending.push(
          send(makeBody('m', seq, spec.bodyBytes)).then(
            () => sendLatencies.add(performance.now() - at),
            (error) => {
              sendErrors++;
              firstSendError ??= errorText(error);
            },
          ),
        );
      }
      if (sent >= total) resolve();
      else setTimeout(tick, Math.max(0, started + sent * intervalMs - performance.now()));
    };
    tick();
  });
  await Promise.all(pending);
  const expected = subscribers * total;
  await drain(
    () => unique >= expected,
    () => unique + duplicates,
  );
  const stats = window.end();
  const closed = opened.sockets.filter((socket) => socket.closeCode() !== null).length;
  for (const socket of opened.sockets) socket.close();
  senderSocket?.close();

  const deliverySeconds = lastReceiptNs > firstSendNs ? Number(lastReceiptNs - firstSendNs) / 1e9 : NaN;
  const latency = latencies.summary();
  const sendLatency = sendLatencies.summary();
  const loss = expected - unique;
  const row: ResultRow = {
    target: job.target.name,
    scenario: 'fanout',
    variant: `${spec.rate}/s`,
    params: { ...spec },
    metrics: {
      subscribers,
      messages: total,
      offeredDeliveriesPerSec: round(subscribers * spec.rate, 1),
      deliveriesPerSec: round(unique / deliverySeconds, 1),
      serverCpuMicrosPerDelivery: cpuMicrosPer(stats, unique),
      p50: latency.p50,
      p95: latency.p95,
      p99: latency.p99,
      max: latency.max,
      mean: latency.mean,
      loss,
      lossPercent: round((100 * loss) / Math.max(1, expected), 3),
      duplicates,
      sendP50: sendLatency.p50,
      sendP99: sendLatency.p99,
      sendErrors,
      subscriptionErrors,
      socketsClosedByServer: closed,
      socketOpenFailures: opened.failed,
      openSeconds: round(openSeconds, 2),
      maxSenderLagMs: round(maxSenderLagMs, 1),
    },
    window: stats,
    failures: [],
    warnings: [],
  };
  if (firstSendError) row.warnings.push(`first send error: ${firstSendError}`);
  if (firstSubscriptionError) row.warnings.push(`first subscription error: ${firstSubscriptionError}`);
  if (opened.firstError) row.warnings.push(`first socket error: ${opened.firstError}`);
  return verdict(
    row,
    job,
    broadcastChecks({
      live,
      warmedUp,
      subscribers,
      loss,
      expected,
      duplicates,
      sendErrors,
      subscriptionErrors,
      closed,
      opened,
    }),
  );
}

type Pair = {
  channel: string;
  sender: Identity;
  receiver: Socket;
  senderSocket: Socket | null;
  seen: Uint8Array;
  unique: number;
  next: number;
  warm: boolean;
};

async function throughput(spec: ThroughputSpec, { job, client, prefix }: Context): Promise<ResultRow[]> {
  let userCount = 2;
  while ((userCount * (userCount - 1)) / 2 < spec.pairs) userCount++;
  const identities = await client.users(userCount, prefix);
  const couples: [Identity, Identity][] = [];
  for (let a = 0; a < userCount && couples.length < spec.pairs; a++) {
    for (let b = a + 1; b < userCount && couples.length < spec.pairs; b++)
      couples.push([identities[a]!, identities[b]!]);
  }
  const latencies = new Samples();
  let duplicates = 0;
  let subscriptionErrors = 0;
  let firstSubscriptionError: string | null = null;
  let lastReceiptNs = 0n;
  let phaseTag = '';
  const pairs: Pair[] = [];
  for (const [a, b] of couples) {
    const channel = await client.direct(a, b);
    const receiver = await client.socket(b);
    const senderSocket = spec.transports.includes('ws') ? await client.socket(a) : null;
    const pair: Pair = {
      channel,
      sender: a,
      receiver,
      senderSocket,
      seen: new Uint8Array(1024),
      unique: 0,
      next: 0,
      warm: false,
    };
    receiver.listen(
      channel,
      (body, receivedNs) => {
        if (body[0] === 'w') pair.warm = true;
        if (body[0] !== phaseTag) return;
        const { seq, latencyMs } = parseBody(body, receivedNs);
        if (seq >= pair.seen.length) {
          const grown = new Uint8Array(Math.max(seq + 1, pair.seen.length * 2));
          grown.set(pair.seen);
          pair.seen = grown;
        }
        if (pair.seen[seq]) duplicates++;
        else {
          pair.seen[seq] = 1;
          pair.unique++;
          latencies.add(latencyMs);
        }
        lastReceiptNs = receivedNs;
      },
      (error) => {
        subscriptionErrors++;
        firstSubscriptionError ??= errorText(error);
      },
    );
    pairs.push(pair);
  }
  let probes = 0;
  const live = await untilLive(
    () =>
      Promise.all(
        pairs
          .filter((pair) => !pair.warm)
          .map((pair) => client.sendHttp(pair.sender, pair.channel, makeBody('w', probes++, spec.bodyBytes))),
      ),
    () => pairs.every((pair) => pair.warm),
  );

  const rows: ResultRow[] = [];
  for (const transport of spec.transports) {
    phaseTag = transport === 'http' ? 'h' : 's';
    for (const pair of pairs) {
      pair.seen.fill(0);
      pair.unique = 0;
      pair.next = 0;
    }
    latencies.reset();
    duplicates = 0;
    const errorsBefore = subscriptionErrors;
    const sendLatencies = new Samples();
    let stored = 0;
    let sendErrors = 0;
    let firstSendError: string | null = null;
    await sleep(job.settleMs / 2);
    const window = new Window(job);
    const startNs = process.hrtime.bigint();
    const endAt = performance.now() + spec.seconds * 1000;
    await Promise.all(
      pairs.flatMap((pair) =>
        Array.from({ length: spec.inFlight }, async () => {
          while (performance.now() < endAt) {
            const body = makeBody(phaseTag, pair.next++, spec.bodyBytes);
            const at = performance.now();
            try {
              if (transport === 'ws') await pair.senderSocket!.send(pair.channel, body);
              else await client.sendHttp(pair.sender, pair.channel, body);
              sendLatencies.add(performance.now() - at);
              stored++;
            } catch (error) {
              sendErrors++;
              firstSendError ??= errorText(error);
              await sleep(10);
            }
          }
        }),
      ),
    );
    const sendSeconds = Number(process.hrtime.bigint() - startNs) / 1e9;
    const delivered = () => pairs.reduce((sum, pair) => sum + pair.unique, 0);
    await drain(
      () => delivered() >= stored,
      () => delivered() + duplicates,
    );
    const stats = window.end();
    const unique = delivered();
    const deliverSeconds = lastReceiptNs > startNs ? Number(lastReceiptNs - startNs) / 1e9 : NaN;
    const latency = latencies.summary();
    const sendLatency = sendLatencies.summary();
    // A send that failed may still have been stored; only stored-and-acknowledged ones must arrive.
    const loss = Math.max(0, stored - unique);
    const errors = subscriptionErrors - errorsBefore;
    const row: ResultRow = {
      target: job.target.name,
      scenario: 'throughput',
      variant: transport,
      params: { ...spec, transports: transport },
      metrics: {
        pairs: pairs.length,
        storedPerSec: round(stored / sendSeconds, 1),
        serverCpuMicrosPerMessage: cpuMicrosPer(stats, stored),
        deliveredPerSec: round(unique / deliverSeconds, 1),
        stored,
        delivered: unique,
        sendP50: sendLatency.p50,
        sendP99: sendLatency.p99,
        p50: latency.p50,
        p95: latency.p95,
        p99: latency.p99,
        max: latency.max,
        loss,
        duplicates,
        sendErrors,
        subscriptionErrors: errors,
      },
      window: stats,
      failures: [],
      warnings: [],
    };
    if (firstSendError) row.warnings.push(`first send error: ${firstSendError}`);
    if (firstSubscriptionError && errors > 0) row.warnings.push(`first subscription error: ${firstSubscriptionError}`);
    rows.push(
      verdict(row, job, [
        [!live, 'not every receiver became live'],
        [loss > 0, `lost ${loss} of ${stored} stored messages`],
        [duplicates > 0, `${duplicates} duplicate deliveries`],
        [sendErrors > 0, `${sendErrors} sends failed`],
        [errors > 0, `${errors} subscription errors`],
      ]),
    );
  }
  for (const pair of pairs) {
    pair.receiver.close();
    pair.senderSocket?.close();
  }
  return rows;
}

/**
 * Time limits of the connections scenario, growing with the socket count (our
 * server spends about 0.1-0.15 ms of CPU per delivery, so one message to
 * 10,000 sockets takes one to two seconds, and subscribing them all longer).
 */
function connectionLimits(sockets: number) {
  return {
    /** Until every subscription delivered a probe. */
    liveMs: Math.max(120_000, sockets * 20),
    /** Between probes while waiting: each one goes to every live socket, so fewer of them with more sockets. */
    probeIntervalMs: Math.max(250, sockets / 10),
    /** Until one message reached every socket. */
    messageMs: Math.max(15_000, sockets * 3),
    /** Probes still in flight after the last socket turned live must stop arriving before anything is measured. */
    quietMaxMs: Math.max(15_000, sockets * 3),
  };
}

async function connections(spec: ConnectionsSpec, { job, client, prefix }: Context): Promise<ResultRow> {
  const limits = connectionLimits(spec.sockets);
  const identities = await client.users(spec.users + 1, prefix);
  const sender = identities[0]!;
  const members = identities.slice(1);
  const channel = await client.group(sender, members, 'bench-connections');
  const senderSocket = await client.socket(sender);
  await sleep(job.settleMs * 2);
  const pid = job.target.pid;
  const rssBefore = pid ? rssBytes(pid) : null;

  const window = new Window(job);
  const started = performance.now();
  const opened = await openMany(spec.sockets, spec.openConcurrency, (index) =>
    client.socket(members[index % members.length]!),
  );
  const ackSeconds = (performance.now() - started) / 1000;
  const count = opened.sockets.length;
  let warmedUp = 0;
  let probesReceived = 0;
  let subscriptionErrors = 0;
  let firstSubscriptionError: string | null = null;
  const received = new Uint32Array(Math.max(1, spec.messages));
  const latencies = new Samples();
  const lastArrival = new Float64Array(Math.max(1, spec.messages));
  let duplicates = 0;
  for (const socket of opened.sockets) {
    const seen = new Uint8Array(Math.max(1, spec.messages));
    let warm = false;
    socket.listen(
      channel,
      (body, receivedNs) => {
        if (body.charCodeAt(0) === 0x6d /* m */) {
          const { seq, latencyMs } = parseBody(body, receivedNs);
          if (seen[seq]) {
            duplicates++;
            return;
          }
          seen[seq] = 1;
          received[seq]!++;
          latencies.add(latencyMs);
          lastArrival[seq] = Math.max(lastArrival[seq]!, latencyMs);
          return;
        }
        probesReceived++;
        if (!warm) {
          warm = true;
          warmedUp++;
        }
      },
      (error) => {
        subscriptionErrors++;
        firstSubscriptionError ??= errorText(error);
      },
    );
  }
  let probes = 0;
  const live = await untilLive(
    () => senderSocket.send(channel, makeBody('w', probes++, 64)),
    () => warmedUp >= count,
    limits.liveMs,
    limits.probeIntervalMs,
  );
  const liveSeconds = (performance.now() - started) / 1000;
  const openStats = window.end();

  // Probes sent while the last sockets subscribed may still be on their way to
  // thousands of sockets: the RSS reading and the messages wait until none
  // arrived for settleMs * 2, then settle as long again (settleMs * 4 at least).
  const quietEnd = Date.now() + limits.quietMaxMs;
  let probesSeen = -1;
  while (probesSeen !== probesReceived && Date.now() < quietEnd) {
    probesSeen = probesReceived;
    await sleep(job.settleMs * 2);
  }
  await sleep(job.settleMs * 2);
  const rssAfter = pid ? rssBytes(pid) : null;
  const messageWindow = new Window(job);
  let sendErrors = 0;
  for (let seq = 0; seq < spec.messages; seq++) {
    await senderSocket.send(channel, makeBody('m', seq, 64)).catch(() => sendErrors++);
    const deadline = Date.now() + limits.messageMs;
    while (received[seq]! < count && Date.now() < deadline) await sleep(5);
    await sleep(job.settleMs / 2);
  }
  const messageStats = messageWindow.end();
  const closed = opened.sockets.filter((socket) => socket.closeCode() !== null).length;
  for (const socket of opened.sockets) socket.close();
  senderSocket.close();

  const expected = count * spec.messages;
  const loss = expected - latencies.count;
  const latency = latencies.summary();
  const row: ResultRow = {
    target: job.target.name,
    scenario: 'connections',
    // The count asked for: rows of one count are compared across targets by it.
    variant: `${spec.sockets} sockets`,
    params: { ...spec },
    metrics: {
      sockets: count,
      ackSeconds: round(ackSeconds, 2),
      liveSeconds: round(liveSeconds, 2),
      socketsPerSec: round(count / liveSeconds, 1),
      rssBeforeMB: rssBefore === null ? null : round(rssBefore / 2 ** 20, 1),
      rssAfterMB: rssAfter === null ? null : round(rssAfter / 2 ** 20, 1),
      rssGrowthMB: rssBefore === null || rssAfter === null ? null : round((rssAfter - rssBefore) / 2 ** 20, 1),
      rssPerSocketKB: rssBefore === null || rssAfter === null ? null : round((rssAfter - rssBefore) / 1024 / count, 1),
      toAllP50: latency.p50,
      toAllP99: latency.p99,
      toAllMax: latency.max,
      loss,
      duplicates,
      sendErrors,
      subscriptionErrors,
      socketOpenFailures: opened.failed,
      socketsClosedByServer: closed,
      openServerCpu: openStats.serverCpu,
      openGeneratorCpu: openStats.generatorCpu,
    },
    window: messageStats,
    failures: [],
    warnings: [],
  };
  if (firstSubscriptionError) row.warnings.push(`first subscription error: ${firstSubscriptionError}`);
  if (opened.firstError) row.warnings.push(`first socket error: ${opened.firstError}`);
  if (openStats.generatorCpu > GENERATOR_SATURATED_PERCENT) {
    row.warnings.push(`generator-bound while opening: ${openStats.generatorCpu}% of its core`);
  }
  return verdict(
    row,
    job,
    broadcastChecks({
      live,
      warmedUp,
      subscribers: count,
      loss,
      expected,
      duplicates,
      sendErrors,
      subscriptionErrors,
      closed,
      opened,
    }),
  );
}

const messageCursor = (id: number) => Buffer.from(`message:${id}`).toString('base64url');
function cursorId(cursor: string): number | null {
  const match = /^message:(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString());
  return match ? Number(match[1]) : null;
}

async function history(spec: HistorySpec, { job, client }: Context): Promise<ResultRow> {
  const viewer = await client.logIn(spec.username, spec.password);
  const list = await client.query(OPERATIONS.conversations, {}, viewer.token);
  const conversation = list.conversations.edges.find((edge: any) => edge.node.title === spec.title)?.node;
  if (!conversation) throw new Error(`no conversation titled ${spec.title} for ${spec.username}`);
  const conversationId: string = conversation.id;
  const timedPage = (variables: Record<string, unknown>) =>
    client.timedQuery(OPERATIONS.history, { conversationId, ...variables }, viewer.token);
  const page = async (variables: Record<string, unknown>) => (await timedPage(variables)).data;

  const newest = await page({ last: spec.pageSize });
  const oldest = await page({ first: 1 });
  const maxId = cursorId(newest.messages.pageInfo.endCursor ?? '');
  const minId = cursorId(oldest.messages.pageInfo.startCursor ?? '');
  if (maxId === null || minId === null) throw new Error('message cursors are not message:<id> in base64url');
  const span = maxId - minId + 1;

  let badPages = 0;
  const check = (result: any) => {
    if (result.messages.edges.length !== spec.pageSize) badPages++;
  };
  // Uniform over the whole conversation, at least one page from its start.
  const randomBefore = () => minId + spec.pageSize + Math.floor(Math.random() * Math.max(1, span - spec.pageSize));
  const warmUpEnd = performance.now() + spec.seconds * 1000;
  for (let index = 0; index < Math.min(20, spec.pages) && performance.now() < warmUpEnd; index++) {
    check(await page({ last: spec.pageSize, before: messageCursor(randomBefore()) }));
  }

  const window = new Window(job);
  const newestLatencies = new Samples();
  // Each sequential phase stops after `pages` pages or `seconds`, whichever comes first.
  let phaseEnd = performance.now() + spec.seconds * 1000;
  for (let index = 0; index < spec.pages && performance.now() < phaseEnd; index++) {
    const at = performance.now();
    check(await page({ last: spec.pageSize }));
    newestLatencies.add(performance.now() - at);
  }
  const deepLatencies = new Samples();
  /** The server's own time per deep page (its Server-Timing header), where it sends one. */
  const deepServerTimes = new Samples();
  let depthSum = 0;
  phaseEnd = performance.now() + spec.seconds * 1000;
  for (let index = 0; index < spec.pages && performance.now() < phaseEnd; index++) {
    const before = randomBefore();
    depthSum += maxId - before;
    const at = performance.now();
    const { data, serverMs } = await timedPage({ last: spec.pageSize, before: messageCursor(before) });
    deepLatencies.add(performance.now() - at);
    if (serverMs !== null) deepServerTimes.add(serverMs);
    check(data);
  }
  const sequentialStats = window.end();

  const concurrentWindow = new Window(job);
  const concurrentLatencies = new Samples();
  let errors = 0;
  const endAt = performance.now() + spec.seconds * 1000;
  const concurrentStarted = performance.now();
  await Promise.all(
    Array.from({ length: spec.concurrency }, async () => {
      while (performance.now() < endAt) {
        const at = performance.now();
        try {
          check(await page({ last: spec.pageSize, before: messageCursor(randomBefore()) }));
          concurrentLatencies.add(performance.now() - at);
        } catch {
          errors++;
        }
      }
    }),
  );
  const concurrentSeconds = (performance.now() - concurrentStarted) / 1000;
  const concurrentStats = concurrentWindow.end();
  const newestSummary = newestLatencies.summary();
  const deep = deepLatencies.summary();
  const deepServer = deepServerTimes.count > 0 ? deepServerTimes.summary() : null;
  const concurrent = concurrentLatencies.summary();
  const row: ResultRow = {
    target: job.target.name,
    scenario: 'history',
    params: { ...spec, password: undefined },
    metrics: {
      messages: span,
      meanDepth: Math.round(depthSum / Math.max(1, deepLatencies.count)),
      newestPages: newestLatencies.count,
      deepPages: deepLatencies.count,
      newestP50: newestSummary.p50,
      newestP99: newestSummary.p99,
      p50: deep.p50,
      p95: deep.p95,
      p99: deep.p99,
      max: deep.max,
      serverP50: deepServer?.p50 ?? null,
      serverP99: deepServer?.p99 ?? null,
      pagesPerSec: round(concurrent.count / concurrentSeconds, 1),
      concurrentP50: concurrent.p50,
      concurrentP99: concurrent.p99,
      concurrentServerCpu: concurrentStats.serverCpu,
      concurrentDbCpu: concurrentStats.dbCpu,
      badPages,
      errors,
    },
    window: sequentialStats,
    failures: [],
    warnings: [],
  };
  return verdict(row, job, [
    [span < spec.expectedMessages, `conversation holds ${span} messages, expected ${spec.expectedMessages}`],
    [badPages > 0, `${badPages} pages did not hold ${spec.pageSize} messages`],
    [errors > 0, `${errors} page requests failed`],
  ]);
}

export async function runJob(job: Job): Promise<ResultRow[]> {
  const client = clientFor(job.target.kind, job.target.url);
  const rows: ResultRow[] = [];
  try {
    for (const [index, spec] of job.scenarios.entries()) {
      const scenarioStarted = performance.now();
      const before = rows.length;
      try {
        const context = { job, client, prefix: `${job.runTag}_${index}` };
        if (spec.scenario === 'fanout') rows.push(await fanout(spec, context));
        else if (spec.scenario === 'throughput') rows.push(...(await throughput(spec, context)));
        else if (spec.scenario === 'connections') rows.push(await connections(spec, context));
        else rows.push(await history(spec, context));
      } catch (error) {
        rows.push({
          target: job.target.name,
          scenario: spec.scenario,
          variant:
            spec.scenario === 'fanout'
              ? `${spec.rate}/s`
              : spec.scenario === 'connections'
                ? `${spec.sockets} sockets`
                : undefined,
          params: { ...spec },
          metrics: {},
          window: null,
          failures: [`scenario crashed: ${(error as Error).stack ?? errorText(error)}`],
          warnings: [],
        });
      }
      for (const row of rows.slice(before)) row.seconds = round((performance.now() - scenarioStarted) / 1000, 1);
      await sleep(job.settleMs); // let closed sockets settle before the next scenario
    }
  } finally {
    client.close();
  }
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [jobPath, resultPath] = process.argv.slice(2);
  if (!jobPath || !resultPath) {
    console.error('usage: node --import tsx bench/generator.ts <job.json> <result.json>');
    process.exit(2);
  }
  const job = JSON.parse(readFileSync(jobPath, 'utf8')) as Job;
  const rows = await runJob(job);
  writeFileSync(resultPath, JSON.stringify(rows, null, 2));
  process.exit(0);
}
