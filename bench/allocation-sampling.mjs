// A preload for a bench server: V8's sampling heap profiler over a fixed
// window of the run, counting what the garbage collectors freed too, so the
// profile is everything allocated in the window, not only what survived. At
// the window's end it writes the profile to the temporary folder and prints
// the bytes allocated; divided by the messages stored in the window (stored/s
// × its length) that is the allocation per send of docs/benchmarks.md.
//
//   tsx bench/run.ts --scenario throughput --transports ws --throughput-seconds 20 \
//     --server-env NODE_OPTIONS=--import=$PWD/bench/allocation-sampling.mjs
//
// ALLOCATION_FROM / ALLOCATION_TO: the window, in seconds after the server
// started (default 12 to 20: inside a 20 s throughput phase). Plain JavaScript
// so that Node loads it before any TypeScript loader.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { setTimeout } from 'node:timers';

const fromMs = Number(process.env.ALLOCATION_FROM ?? 12) * 1000;
const toMs = Number(process.env.ALLOCATION_TO ?? 20) * 1000;
const session = new Session();
session.connect();
const post = (method, params) =>
  new Promise((resolve, reject) =>
    session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))),
  );

/** Bytes allocated under a node of the profile's call tree, its own included. */
const allocatedUnder = (node) =>
  node.selfSize + (node.children ?? []).reduce((sum, child) => sum + allocatedUnder(child), 0);

setTimeout(async () => {
  await post('HeapProfiler.enable');
  await post('HeapProfiler.startSampling', {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  setTimeout(async () => {
    const { profile } = await post('HeapProfiler.stopSampling');
    const path = join(tmpdir(), `allocations-${process.pid}.heapprofile`);
    writeFileSync(path, JSON.stringify(profile));
    const seconds = (toMs - fromMs) / 1000;
    process.stderr.write(
      `allocation sampling: ${allocatedUnder(profile.head)} bytes in ${seconds} s, profile in ${path}\n`,
    );
  }, toMs - fromMs).unref();
}, fromMs).unref();
