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
  ram?: RamInfo;
}

/** One line that says where a migration is: state, how much is left, how fast, which pass. */
export function describeMigration(info: MigrationInfoLike): string {
  const status = info.status ?? 'none';
  const ram = info.ram;
  if (!ram || status === 'none' || status === 'setup') {
    return `migration: ${status}${info['error-desc'] ? ` (${info['error-desc']})` : ''}`;
  }
  const total = ram.total ?? 0;
  const remaining = ram.remaining ?? 0;
  const done = total > 0 ? (total - remaining) / total : 0;
  const parts = [
    status === 'completed' ? progressBar(1) : progressBar(done),
    `${formatBytes(ram.transferred ?? 0)} sent`,
    `${formatBytes(remaining)} of ${formatBytes(total)} left`,
    `${(ram.mbps ?? 0).toFixed(0)} Mbit/s`,
    `pass ${ram['dirty-sync-count'] ?? 0}`,
  ];
  if (status === 'completed') {
    parts.push(`took ${formatDuration(info['total-time'] ?? 0)}, downtime ${formatDuration(info.downtime ?? 0)}`);
  } else if (info['expected-downtime'] !== undefined) {
    parts.push(`expected downtime ${formatDuration(info['expected-downtime'])}`);
  }
  if (info['error-desc']) parts.push(`error: ${info['error-desc']}`);
  return `${status.padEnd(10)} ${parts.join('  ')}`;
}
