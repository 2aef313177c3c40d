// Looks at a migration's source again and again: query-migrate, and progress — mig-daemon's own
// (x-mig-query-progress) or, from QEMU, mig's estimate from query-migrate's figures (@mig/core's tracker).
import { isTerminalStatus, ProgressTracker, TARGET_PAGE_SIZE, type MigrationStatus } from '@mig/core';
import type { MigrationInfo } from '@mig/qmp';
import type { Endpoint } from './endpoint.js';
import type { CliIo } from './io.js';

export interface ProgressView {
  /** 0..100, never lower than an earlier look; 100 only once completed. */
  percent: number;
  /** ms until the migration is through, null while unknown or when it does not drain. */
  etaMs: number | null;
  /** Bytes of guest data processed (RAM and disk, each pass counted). */
  processed: number;
  /** Bytes of guest data processed per second. */
  rate: number;
  /** RAM and disk bytes pending / of the migration. */
  remaining: number;
  total: number;
  converging: boolean;
  advice: string[];
  /** mig-daemon's figure, or mig's estimate from query-migrate (QEMU). */
  origin: 'mig' | 'estimated';
}

export interface Snapshot {
  /** ms since the watch began. */
  t: number;
  /** The io clock. */
  time: number;
  status: MigrationStatus | 'none';
  info: MigrationInfo;
  progress: ProgressView;
}

const RUNNING = new Set(['setup', 'active', 'cancelling', 'pre-switchover', 'device']);

export function isRunning(status: string): boolean {
  return RUNNING.has(status);
}

export function isEnded(status: string): boolean {
  return isTerminalStatus(status as MigrationStatus);
}

export class MigrationWatch {
  readonly #start: number;
  #tracker: ProgressTracker | undefined;
  #trackerTotal = 0;
  #percent = 0;

  constructor(private readonly source: Endpoint, private readonly io: CliIo) {
    this.#start = io.now();
  }

  async look(): Promise<Snapshot> {
    const info = await this.source.queryMigrate();
    const status = (info.status ?? 'none') as Snapshot['status'];
    const own = isRunning(status) || status === 'completed' ? await this.source.queryProgress() : undefined;
    const time = this.io.now();
    const view = own
      ? fromDaemon(own)
      : this.#estimate(info, status, time);
    // one rule for both origins: never backwards, 100 only at completed
    const percent = status === 'completed' ? 100 : Math.min(99.9, Math.max(this.#percent, view.percent));
    this.#percent = percent;
    return { t: time - this.#start, time, status, info, progress: { ...view, percent, ...(status === 'completed' ? { etaMs: 0 } : {}) } };
  }

  /** From query-migrate alone: RAM and disk pending, the passes, the dirty rate. */
  #estimate(info: MigrationInfo, status: string, time: number): ProgressView {
    const ram = info.ram;
    const total = (ram?.total ?? 0) + (info.disk?.total ?? 0);
    const remaining = (ram?.remaining ?? 0) + (info.disk?.remaining ?? 0);
    const idle: ProgressView = { percent: 0, etaMs: null, processed: 0, rate: 0, remaining, total, converging: true, advice: [], origin: 'estimated' };
    if (!ram || total === 0 || status !== 'active') return idle;
    if (!this.#tracker || total > this.#trackerTotal) {
      this.#tracker = new ProgressTracker({ totalBytes: total });
      this.#trackerTotal = total;
    }
    const r = this.#tracker.sample({
      time,
      remaining,
      pass: ram['dirty-sync-count'],
      dirtyRate: ram['dirty-pages-rate'] * (ram['page-size'] || TARGET_PAGE_SIZE),
    });
    return { ...idle, percent: r.percent, etaMs: r['eta-ms'], processed: r.processed, rate: r['processing-rate'] };
  }
}

function fromDaemon(p: NonNullable<Awaited<ReturnType<Endpoint['queryProgress']>>>): ProgressView {
  return {
    percent: p.percent, etaMs: p['eta-ms'], processed: p.processed, rate: p['processing-rate'], remaining: p.remaining,
    total: p.total, converging: p.converging, advice: p.advice, origin: 'mig',
  };
}
