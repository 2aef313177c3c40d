// `mig status`: query-migrate (RAM, disk, XBZRLE) as a person reads it, a few lines.
import type { MigrationInfo, MigrationProgress } from '@mig/qmp';
import { bytesPerSecond, formatRate } from './bar.js';
import { formatBytes, formatDuration } from './format.js';

export interface StatusFacts {
  address: string;
  product: string;
  runstate: string;
  info: MigrationInfo;
  /** mig-daemon's progress (absent from QEMU). */
  progress?: MigrationProgress | undefined;
}

const pct = (part: number, whole: number) => (whole > 0 ? `${((100 * part) / whole).toFixed(1)} %` : '-');

function ramLine(info: MigrationInfo): string | undefined {
  const r = info.ram;
  if (!r) return undefined;
  const done = r.total - r.remaining;
  return `  RAM      ${formatBytes(done)} of ${formatBytes(r.total)} done (${pct(done, r.total)}), ${formatBytes(r.remaining)} left, ` +
    `${formatBytes(r.transferred)} sent at ${formatRate(bytesPerSecond(r.mbps))}; pass ${r['dirty-sync-count']}, ` +
    `${r.normal} pages + ${r.duplicate} zero pages, dirtying ${formatRate(r['dirty-pages-rate'] * (r['page-size'] || 4096))}`;
}

function diskLine(info: MigrationInfo): string | undefined {
  const d = info.disk;
  if (!d) return undefined;
  const done = d.total - d.remaining;
  return `  disk     ${formatBytes(done)} of ${formatBytes(d.total)} done (${pct(done, d.total)}), ${formatBytes(d.remaining)} left, ${formatBytes(d.transferred)} sent`;
}

function xbzrleLine(info: MigrationInfo): string | undefined {
  const x = info['xbzrle-cache'];
  if (!x) return undefined;
  return `  XBZRLE   cache ${formatBytes(x['cache-size'])}: ${x.pages} pages as ${formatBytes(x.bytes)}, ` +
    `cache misses ${x['cache-miss']} (rate ${x['cache-miss-rate'].toFixed(2)}), encoding rate ${x['encoding-rate'].toFixed(2)}, overflows ${x.overflow}`;
}

function timesLine(info: MigrationInfo): string | undefined {
  const parts: string[] = [];
  if (info['total-time'] !== undefined) parts.push(`total ${formatDuration(info['total-time'])}`);
  if (info['setup-time'] !== undefined) parts.push(`setup ${formatDuration(info['setup-time'])}`);
  if (info.downtime !== undefined) parts.push(`downtime ${formatDuration(info.downtime)}`);
  if (info['expected-downtime'] !== undefined && info.status === 'active') parts.push(`expected downtime ${formatDuration(info['expected-downtime'])}`);
  if (info['cpu-throttle-percentage']) parts.push(`guest throttled ${info['cpu-throttle-percentage']} %`);
  return parts.length > 0 ? `  time     ${parts.join(', ')}` : undefined;
}

function progressLine(p: MigrationProgress | undefined, status: string): string | undefined {
  if (!p || (status !== 'active' && status !== 'completed')) return undefined;
  // a completed migration is whole whichever end this is (a target's progress tracker never ran)
  if (status === 'completed') return '  progress 100.0 %, done';
  const eta = p['eta-ms'] === null ? (p['processing-rate'] > 0 ? 'not draining' : 'not known yet') : formatDuration(p['eta-ms']);
  const advice = !p.converging && p.advice.length > 0 ? `\n  not converging; what would help:\n${p.advice.map((a) => `    - ${a}`).join('\n')}` : '';
  return `  progress ${p.percent.toFixed(1)} %, ETA ${eta}${advice}`;
}

export function describeStatus(f: StatusFacts): string {
  const status = f.info.status ?? 'none';
  const lines = [
    `${f.address}: ${f.product}`,
    `guest: ${f.runstate}`,
    `migration: ${status}${f.info['error-desc'] ? ` (${f.info['error-desc']})` : ''}`,
    ramLine(f.info),
    diskLine(f.info),
    xbzrleLine(f.info),
    timesLine(f.info),
    progressLine(f.progress, status),
  ];
  if (f.info['blocked-reasons']?.length) lines.push(`  blocked: ${f.info['blocked-reasons'].join('; ')}`);
  return `${lines.filter((l) => l !== undefined).join('\n')}\n`;
}
