// What the generator and the orchestrator read about other processes on this
// machine (Linux /proc): resident memory and CPU time.
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (getconf CLK_TCK, 100 on Linux). */
const CLOCK_TICKS_PER_SECOND = 100;

/** Resident set size of a process in bytes, or null if it is gone. */
export function rssBytes(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/**
 * User + system CPU time of a process in milliseconds, or null if it is gone:
 * of all its threads, or of its main thread only (for Node, the event loop's).
 */
export function cpuMs(pid: number, mainThreadOnly = false): number | null {
  try {
    const stat = readFileSync(mainThreadOnly ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces: fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** Pids whose command name (comm) is one of `names`. */
export function pidsNamed(...names: string[]): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      if (names.includes(comm)) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/** CPU use of some processes (or of their main threads only) over a window, as a percentage of one core. */
export class CpuWindow {
  private readonly start: Map<number, number>;
  private readonly startedAt = process.hrtime.bigint();

  constructor(
    private readonly pids: number[],
    private readonly mainThreadOnly = false,
  ) {
    this.start = new Map(pids.map((pid) => [pid, cpuMs(pid, mainThreadOnly) ?? 0]));
  }

  /** Percent of one core used by all the pids together since the window opened. */
  percent(): number {
    const wallMs = Number(process.hrtime.bigint() - this.startedAt) / 1e6;
    let used = 0;
    for (const pid of this.pids) {
      used += (cpuMs(pid, this.mainThreadOnly) ?? this.start.get(pid)!) - this.start.get(pid)!;
    }
    return wallMs > 0 ? Math.round((used / wallMs) * 1000) / 10 : 0;
  }
}

/** The generator's own CPU use over a window (process.cpuUsage), as a percentage of one core. */
export class OwnCpuWindow {
  private readonly start = process.cpuUsage();
  private readonly startedAt = process.hrtime.bigint();

  percent(): number {
    const used = process.cpuUsage(this.start);
    const wallUs = Number(process.hrtime.bigint() - this.startedAt) / 1e3;
    return wallUs > 0 ? Math.round(((used.user + used.system) / wallUs) * 1000) / 10 : 0;
  }
}
