/**
 * CPU time of processes from `/proc` (utime + stime), for the bench's CPU µs per message: the
 * gateway process, and its share of Redis and Postgres (every `redis-server` and `postgres`
 * process on the machine: run the bench on a machine where nothing else uses them).
 */
import { readdirSync, readFileSync } from 'node:fs';

// Linux's USER_HZ: /proc counts CPU time in these ticks (getconf CLK_TCK, 100 on every common kernel).
const TICKS_PER_S = 100;

/** utime + stime of one process, in µs (0 once it is gone). */
export function cpuMicros(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1_000_000) / TICKS_PER_S;
  } catch {
    return 0;
  }
}

/** The pids whose command is `name`. */
export function pidsNamed(name: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === name) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

export interface CpuSample {
  server: number;
  redis: number;
  postgres: number;
}

/** CPU µs so far of the server under test, of every redis-server and of every postgres process. */
export function sampleCpu(serverPid: number): CpuSample {
  const sum = (pids: number[]): number => pids.reduce((total, pid) => total + cpuMicros(pid), 0);
  return { server: cpuMicros(serverPid), redis: sum(pidsNamed('redis-server')), postgres: sum(pidsNamed('postgres')) };
}

/** CPU µs per message between two samples (a postgres backend that exited meanwhile is not counted). */
export function perMessage(before: CpuSample, after: CpuSample, messages: number): CpuSample {
  const each = (a: number, b: number): number => (messages > 0 ? +Math.max(0, (b - a) / messages).toFixed(1) : 0);
  return {
    server: each(before.server, after.server),
    redis: each(before.redis, after.redis),
    postgres: each(before.postgres, after.postgres),
  };
}
