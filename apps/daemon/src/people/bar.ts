// The live line of `mig migrate` / `mig watch`: where the migration is, in the width of the terminal.
import { formatBytes, formatDuration } from './format.js';
import type { Snapshot } from './migration-watch.js';

const MiB = 1024 * 1024;

/** Bytes per second from QEMU's mbps (megabits per second). */
export function bytesPerSecond(mbps: number | undefined): number {
  return ((mbps ?? 0) * 1e6) / 8;
}

export function formatRate(bps: number): string {
  return bps >= MiB ? `${(bps / MiB).toFixed(1)} MiB/s` : `${(bps / 1024).toFixed(0)} KiB/s`;
}

function bar(percent: number, width: number): string {
  const filled = Math.round((Math.max(0, Math.min(100, percent)) / 100) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

/** The ETA as a person reads it. */
export function describeEta(s: Snapshot): string {
  if (s.status === 'completed') return 'done';
  if (s.status !== 'active') return 'ETA -';
  if (s.progress.etaMs === null) return s.progress.rate > 0 ? 'ETA: not draining' : 'ETA …';
  return `ETA ${formatDuration(s.progress.etaMs)}`;
}

/**
 * One line, the parts most worth seeing first, cut to `width` columns by leaving out the last parts (a line
 * longer than the terminal would wrap and break the redraw in place).
 */
export function renderBar(s: Snapshot, width = 120): string {
  const ram = s.info.ram;
  const disk = s.info.disk;
  const sent = (ram?.transferred ?? 0) + (disk?.transferred ?? 0);
  const barWidth = width >= 110 ? 24 : width >= 80 ? 12 : 6;
  const parts = [
    s.status.padEnd(9),
    `${bar(s.progress.percent, barWidth)} ${s.progress.percent.toFixed(1).padStart(5)}%`,
    ...(!s.progress.converging && s.status === 'active' ? ['NOT CONVERGING'] : []),
    `${formatBytes(sent)} sent`,
    `${formatBytes(s.progress.remaining)} left`,
    formatRate(bytesPerSecond(ram?.mbps)),
    describeEta(s),
    `pass ${ram?.['dirty-sync-count'] ?? 0}`,
    `dirty ${formatRate((ram?.['dirty-pages-rate'] ?? 0) * (ram?.['page-size'] || 4096))}`,
  ];
  if (s.info['expected-downtime'] !== undefined && s.status === 'active') parts.push(`exp. downtime ${formatDuration(s.info['expected-downtime'])}`);
  if (disk) parts.push(`disk ${formatBytes(disk.total - disk.remaining)}/${formatBytes(disk.total)}`);
  if (s.info['cpu-throttle-percentage']) parts.push(`throttle ${s.info['cpu-throttle-percentage']}%`);
  let line = parts[0]!;
  for (const part of parts.slice(1)) {
    if (line.length + 2 + part.length > width) break;
    line += `  ${part}`;
  }
  return line.slice(0, width);
}
