// Numbers as a person reads them.
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function progressBar(fraction: number, width = 24): string {
  const clamped = Math.max(0, Math.min(1, fraction));
  const filled = Math.round(clamped * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(clamped * 100).toFixed(0).padStart(3)}%`;
}

interface RamInfo {
  transferred?: number;
  remaining?: number;
  total?: number;
  mbps?: number;
  'dirty-sync-count'?: number;
}

export interface MigrationInfoLike {
  status?: string;
  'total-time'?: number;
  'expected-downtime'?: number;
  downtime?: number;
  'error-desc'?: string;
  'cpu-throttle-percentage'?: number;
  ram?: RamInfo;
}

/** What mig-daemon's x-mig-query-progress adds (QEMU has no such command: then it is absent). */
export interface ProgressLike {
  percent: number;
  'eta-ms': number | null;
  converging: boolean;
  advice: string[];
}

/** One line that says where a migration is: state, how much is left, how fast, which pass. */
export function describeMigration(info: MigrationInfoLike, progress?: ProgressLike): string {
  const status = info.status ?? 'none';
  const ram = info.ram;
  if (!ram || status === 'none' || status === 'setup') {
    return `migration: ${status}${info['error-desc'] ? ` (${info['error-desc']})` : ''}`;
  }
  const total = ram.total ?? 0;
  const remaining = ram.remaining ?? 0;
  // mig-daemon's figure never goes backwards when a pass finds pages dirtied again; QEMU's remaining does
  const done = progress ? progress.percent / 100 : total > 0 ? (total - remaining) / total : 0;
  const parts = [
    status === 'completed' ? progressBar(1) : progressBar(done),
    `${formatBytes(ram.transferred ?? 0)} sent`,
    `${formatBytes(remaining)} of ${formatBytes(total)} left`,
    `${(ram.mbps ?? 0).toFixed(0)} Mbit/s`,
    `pass ${ram['dirty-sync-count'] ?? 0}`,
  ];
  if (status === 'completed') {
    parts.push(`took ${formatDuration(info['total-time'] ?? 0)}, downtime ${formatDuration(info.downtime ?? 0)}`);
  } else {
    if (progress && status === 'active') {
      parts.push(progress['eta-ms'] === null ? 'ETA: not draining' : `ETA ${formatDuration(progress['eta-ms'])}`);
    }
    if (info['expected-downtime'] !== undefined) parts.push(`expected downtime ${formatDuration(info['expected-downtime'])}`);
    if (info['cpu-throttle-percentage']) parts.push(`guest throttled ${info['cpu-throttle-percentage']}%`);
    if (progress && !progress.converging && status === 'active') parts.push('NOT CONVERGING');
  }
  if (info['error-desc']) parts.push(`error: ${info['error-desc']}`);
  return `${status.padEnd(10)} ${parts.join('  ')}`;
}

/** The advice lines shown when a migration stops converging. */
export function describeAdvice(progress: ProgressLike): string {
  if (progress.converging || progress.advice.length === 0) return '';
  return `migration is not converging; what would help:\n${progress.advice.map((a) => `  - ${a}`).join('\n')}`;
}
