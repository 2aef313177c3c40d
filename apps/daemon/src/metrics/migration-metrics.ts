// The migration as Prometheus metrics (prom-client): KubeVirt's kubevirt_vmi_migration_* names where KubeVirt has
// the figure (kubevirt/monitoring docs/metrics.md), mig_migration_* for the rest. Values are read at each scrape
// from what query-migrate answers (the target's view while an incoming migration exists, else the source's) and
// from the outgoing migration's progress.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { isMigrationRunning, isTerminalStatus, type MigrationStateMachine, type MigrationStatus, type ProgressReport } from '@mig/core';
import { MIGRATION_STATUSES } from '@mig/qmp';

interface StatsLike {
  transferred?: number;
  remaining?: number;
  total?: number;
  normal?: number;
  duplicate?: number;
  mbps?: number;
  'dirty-pages-rate'?: number;
  'dirty-sync-count'?: number;
  'page-size'?: number;
  'pages-per-second'?: number;
}

interface XbzrleLike {
  'cache-size': number;
  bytes: number;
  pages: number;
  'cache-miss': number;
  'cache-miss-rate': number;
  'encoding-rate': number;
  overflow: number;
}

/** The part of query-migrate read here. */
export interface MigrationInfoLike {
  status?: string;
  ram?: StatsLike;
  disk?: StatsLike;
  'xbzrle-cache'?: XbzrleLike;
  'total-time'?: number;
  'setup-time'?: number;
  downtime?: number;
  'expected-downtime'?: number;
  'cpu-throttle-percentage'?: number;
}

export interface MetricsSource {
  queryMigrate(): MigrationInfoLike;
  /** The outgoing migration's progress (undefined before its first sample, or on a target). */
  progress(): ProgressReport | undefined;
  /** The state machines whose transitions date the migrations. */
  outgoing: MigrationStateMachine;
  incoming: MigrationStateMachine;
}

export interface MetricsOptions {
  /** `-name`: the `name` label on every metric, as KubeVirt labels a VMI's. */
  guestName?: string | undefined;
  version: string;
  qemuVersion: string;
}

type GaugeName = (typeof GAUGES)[number][0];

/** Name, help. Each is set from one scrape's query-migrate (see `values`). */
const GAUGES = [
  ['kubevirt_vmi_migration_data_processed_bytes', 'The total guest data (RAM and disk) processed and migrated to the target, bytes.'],
  ['kubevirt_vmi_migration_data_remaining_bytes', 'The guest data (RAM and disk) still to be migrated, bytes.'],
  ['kubevirt_vmi_migration_dirty_memory_rate_bytes', 'The rate of memory being dirtied in the guest, bytes per second.'],
  ['kubevirt_vmi_migration_memory_transfer_rate_bytes', 'The rate at which the memory is being transferred, bytes per second.'],
  ['kubevirt_vmi_migration_start_time_seconds', 'The time at which the migration started (Unix seconds; 0 before any).'],
  ['kubevirt_vmi_migration_end_time_seconds', 'The time at which the migration ended (Unix seconds; 0 while none ended).'],
  ['kubevirt_vmi_migration_succeeded', 'Indicates if the last migration completed (1) or not (0).'],
  ['kubevirt_vmi_migration_failed', 'Indicates if the last migration failed (1) or not (0).'],
  ['kubevirt_vmi_migrations_in_running_phase', 'Number of migrations running now (setup, active, cancelling).'],
  ['mig_migration_ram_transferred_bytes', 'RAM stream bytes sent (query-migrate ram.transferred).'],
  ['mig_migration_ram_remaining_bytes', 'RAM bytes still to send (ram.remaining).'],
  ['mig_migration_ram_total_bytes', 'Guest RAM bytes (ram.total).'],
  ['mig_migration_ram_normal_pages', 'RAM pages sent whole (ram.normal).'],
  ['mig_migration_ram_zero_pages', 'RAM pages sent as zero pages (ram.duplicate).'],
  ['mig_migration_ram_pages_per_second', 'RAM pages processed per second (ram.pages-per-second).'],
  ['mig_migration_disk_transferred_bytes', 'Disk bytes sent by block migration (disk.transferred).'],
  ['mig_migration_disk_remaining_bytes', 'Disk bytes still to send (disk.remaining).'],
  ['mig_migration_disk_total_bytes', 'Disk bytes block migration covers (disk.total).'],
  ['mig_migration_passes', 'Dirty-bitmap passes so far (ram.dirty-sync-count; 1 = the bulk pass).'],
  ['mig_migration_cpu_throttle_percent', 'Guest throttle applied by auto-converge, percent.'],
  ['mig_migration_total_time_seconds', 'Time since the migration started, or its whole length once ended.'],
  ['mig_migration_setup_time_seconds', 'Time the setup took.'],
  ['mig_migration_downtime_seconds', 'Time the guest was stopped for the switchover (once completed).'],
  ['mig_migration_expected_downtime_seconds', 'Downtime the switchover would take now.'],
  ['mig_migration_xbzrle_cache_size_bytes', 'XBZRLE cache size.'],
  ['mig_migration_xbzrle_bytes', 'Bytes sent as XBZRLE deltas.'],
  ['mig_migration_xbzrle_pages', 'Pages sent as XBZRLE deltas.'],
  ['mig_migration_xbzrle_cache_misses', 'XBZRLE cache misses.'],
  ['mig_migration_xbzrle_cache_miss_ratio', 'XBZRLE cache miss rate over the last period (0..1).'],
  ['mig_migration_xbzrle_encoding_rate', 'XBZRLE encoding rate (page bytes per delta byte) over the last period.'],
  ['mig_migration_xbzrle_overflows', 'XBZRLE deltas that did not fit a page and went whole.'],
  ['mig_migration_progress_percent', "mig's progress of the outgoing migration, 0..100 (never backwards)."],
  ['mig_migration_eta_seconds', 'Seconds until the outgoing migration is through at the current rates (NaN while unknown or not draining).'],
] as const;

const num = (v: number | undefined) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** Every gauge's value for one query-migrate and progress report. */
function values(i: MigrationInfoLike, p: ProgressReport | undefined): Partial<Record<GaugeName, number>> {
  const r = i.ram ?? {};
  const d = i.disk ?? {};
  const x = i['xbzrle-cache'];
  const s = (ms: number | undefined) => num(ms) / 1000;
  return {
    kubevirt_vmi_migration_data_processed_bytes: num(r.transferred) + num(d.transferred),
    kubevirt_vmi_migration_data_remaining_bytes: num(r.remaining) + num(d.remaining),
    kubevirt_vmi_migration_dirty_memory_rate_bytes: num(r['dirty-pages-rate']) * (num(r['page-size']) || 4096),
    kubevirt_vmi_migration_memory_transfer_rate_bytes: (num(r.mbps) * 1e6) / 8,
    mig_migration_ram_transferred_bytes: num(r.transferred),
    mig_migration_ram_remaining_bytes: num(r.remaining),
    mig_migration_ram_total_bytes: num(r.total),
    mig_migration_ram_normal_pages: num(r.normal),
    mig_migration_ram_zero_pages: num(r.duplicate),
    mig_migration_ram_pages_per_second: num(r['pages-per-second']),
    mig_migration_disk_transferred_bytes: num(d.transferred),
    mig_migration_disk_remaining_bytes: num(d.remaining),
    mig_migration_disk_total_bytes: num(d.total),
    mig_migration_passes: num(r['dirty-sync-count']),
    mig_migration_cpu_throttle_percent: num(i['cpu-throttle-percentage']),
    mig_migration_total_time_seconds: s(i['total-time']),
    mig_migration_setup_time_seconds: s(i['setup-time']),
    mig_migration_downtime_seconds: s(i.downtime),
    mig_migration_expected_downtime_seconds: s(i['expected-downtime']),
    mig_migration_xbzrle_cache_size_bytes: num(x?.['cache-size']),
    mig_migration_xbzrle_bytes: num(x?.bytes),
    mig_migration_xbzrle_pages: num(x?.pages),
    mig_migration_xbzrle_cache_misses: num(x?.['cache-miss']),
    mig_migration_xbzrle_cache_miss_ratio: num(x?.['cache-miss-rate']),
    mig_migration_xbzrle_encoding_rate: num(x?.['encoding-rate']),
    mig_migration_xbzrle_overflows: num(x?.overflow),
    mig_migration_progress_percent: num(p?.percent),
    mig_migration_eta_seconds: p?.['eta-ms'] === null || p === undefined ? NaN : p['eta-ms'] / 1000,
  };
}

/** When the last migration (either direction) started and ended, and how. */
class MigrationDates {
  startedAt = 0;
  endedAt = 0;
  outcome: MigrationStatus | undefined;

  watch(state: MigrationStateMachine, now: () => number): void {
    state.onChange(({ to }) => {
      if (to === 'setup') {
        this.startedAt = now();
        this.endedAt = 0;
        this.outcome = undefined;
      } else if (isTerminalStatus(to)) {
        this.endedAt = now();
        this.outcome = to;
      }
    });
  }
}

export class MigrationMetrics {
  readonly registry = new Registry();
  readonly #gauges = new Map<GaugeName, Gauge>();
  readonly #status: Gauge;
  readonly #dataTotal: Counter;
  readonly #dates = new MigrationDates();

  constructor(private readonly source: MetricsSource, opts: MetricsOptions, now: () => number = Date.now) {
    if (opts.guestName !== undefined) this.registry.setDefaultLabels({ name: opts.guestName });
    for (const [name, help] of GAUGES) this.#gauges.set(name, new Gauge({ name, help, registers: [this.registry] }));
    this.#status = new Gauge({
      name: 'mig_migration_status', help: 'The migration state as query-migrate names it: 1 for the current one.',
      labelNames: ['status', 'direction'], registers: [this.registry],
    });
    // KubeVirt makes this one a counter; within one migration it only grows
    this.#dataTotal = new Counter({ name: 'kubevirt_vmi_migration_data_bytes_total', help: 'The total guest data (RAM and disk) to be migrated, bytes.', registers: [this.registry] });
    new Gauge({ name: 'mig_info', help: "mig's version and the QEMU version it speaks.", labelNames: ['version', 'qemu_version'], registers: [this.registry] })
      .set({ version: opts.version, qemu_version: opts.qemuVersion }, 1);
    collectDefaultMetrics({ register: this.registry });
    this.#dates.watch(source.outgoing, now);
    this.#dates.watch(source.incoming, now);
  }

  /** Sets every metric from the migration as it is now. */
  update(): void {
    const info = this.source.queryMigrate();
    const direction = this.source.incoming.status !== 'none' ? 'incoming' : 'outgoing';
    const progress = direction === 'outgoing' ? this.source.progress() : undefined;
    for (const [name, v] of Object.entries(values(info, progress))) this.#gauges.get(name as GaugeName)!.set(v);
    const status = info.status ?? 'none';
    const dates = this.#dates;
    this.#set('kubevirt_vmi_migration_start_time_seconds', dates.startedAt / 1000);
    this.#set('kubevirt_vmi_migration_end_time_seconds', dates.endedAt / 1000);
    this.#set('kubevirt_vmi_migration_succeeded', dates.outcome === 'completed' ? 1 : 0);
    this.#set('kubevirt_vmi_migration_failed', dates.outcome === 'failed' ? 1 : 0);
    this.#set('kubevirt_vmi_migrations_in_running_phase', isMigrationRunning(status as MigrationStatus) ? 1 : 0);
    this.#status.reset();
    for (const s of MIGRATION_STATUSES) this.#status.set({ status: s, direction }, s === status ? 1 : 0);
    this.#dataTotal.reset();
    this.#dataTotal.inc(num(info.ram?.total) + num(info.disk?.total));
  }

  #set(name: GaugeName, v: number): void {
    this.#gauges.get(name)!.set(v);
  }

  /** The exposition text, updated first. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    this.update();
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
