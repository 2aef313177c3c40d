// A process's memory from /proc/PID/status, for tests that bound what a migration source holds.
import { readFileSync } from 'node:fs';

export interface ProcessMemory {
  /** VmRSS: everything resident, guest RAM pages mapped from its file included. */
  rss: number;
  /** RssAnon: the process's own heap and buffers (not file or shared-memory pages such as a RAM file's). */
  anon: number;
}

function field(status: string, name: string, pid: number): number {
  const kib = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1];
  if (kib === undefined) throw new Error(`/proc/${pid}/status has no ${name}`);
  return Number(kib) * 1024;
}

export function processMemory(pid: number): ProcessMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rss: field(status, 'VmRSS', pid), anon: field(status, 'RssAnon', pid) };
}

export interface MemorySampler {
  /** Stops sampling; the largest values seen (one last sample is taken first). */
  stop(): ProcessMemory & { samples: number };
}

/** Samples `pid` every `intervalMs` until stop(). */
export function sampleMemory(pid: number, intervalMs = 50): MemorySampler {
  const max: ProcessMemory = { rss: 0, anon: 0 };
  let samples = 0;
  const take = (): void => {
    try {
      const now = processMemory(pid);
      max.rss = Math.max(max.rss, now.rss);
      max.anon = Math.max(max.anon, now.anon);
      samples++;
    } catch {
      // the process is gone: keep what was seen
    }
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return { ...max, samples };
    },
  };
}
