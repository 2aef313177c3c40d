// The table `mig migrate` ends with, and the same facts as one JSON object for scripts.
import type { MigrationInfo } from '@mig/qmp';
import { bytesPerSecond, formatRate } from './bar.js';
import { formatBytes, formatDuration } from './format.js';

export interface EndView {
  address: string;
  product: string;
  info: MigrationInfo;
}

export interface MigrationOutcome {
  exitCode: number;
  /** What happened, in a few words ("completed", "failed: ...", "target did not complete"). */
  result: string;
  source: EndView;
  target: EndView | undefined;
  downtimeLimitMs: number | undefined;
}

const ms = (v: number | undefined) => (v === undefined ? '-' : formatDuration(v));

function rows(o: MigrationOutcome): [string, string, string?][] {
  const s = o.source.info;
  const ram = s.ram;
  const x = s['xbzrle-cache'];
  const out: [string, string, string?][] = [
    ['', 'source', ...(o.target ? ['target'] : [])] as [string, string, string?],
    ['end', o.source.product, o.target?.product],
    ['status', s.status ?? 'none', o.target?.info.status ?? (o.target ? 'none' : undefined)],
    ['total time', ms(s['total-time'])],
    ['setup time', ms(s['setup-time'])],
    ['downtime', `${ms(s.downtime)}${o.downtimeLimitMs !== undefined ? ` (limit ${o.downtimeLimitMs} ms)` : ''}`],
  ];
  if (ram) {
    out.push(['sent', formatBytes(ram.transferred + (s.disk?.transferred ?? 0))]);
    out.push(['RAM', `${formatBytes(ram.total)}: ${ram.normal} pages sent, ${ram.duplicate} zero pages`]);
    out.push(['passes', String(ram['dirty-sync-count'])]);
    out.push(['throughput', formatRate(bytesPerSecond(ram.mbps))]);
  }
  if (s.disk) out.push(['disk', `${formatBytes(s.disk.transferred)} sent of ${formatBytes(s.disk.total)}`]);
  if (x) out.push(['XBZRLE', `${x.pages} pages as ${formatBytes(x.bytes)}, cache misses ${x['cache-miss']}, overflows ${x.overflow}`]);
  if (s['error-desc']) out.push(['error', s['error-desc']]);
  if (o.target?.info['error-desc']) out.push(['target error', '', o.target.info['error-desc']]);
  return out;
}

/** A plain-text table: a label column, then source (and target). */
export function summaryTable(o: MigrationOutcome): string {
  const table = rows(o);
  const w0 = Math.max(...table.map((r) => r[0].length));
  const w1 = Math.max(...table.map((r) => r[1].length));
  const lines = table.map(([label, a, b]) => `${label.padEnd(w0)}  ${b === undefined ? a : `${a.padEnd(w1)}  ${b}`}`.trimEnd());
  return `${lines.join('\n')}\nresult: ${o.result}\n`;
}

/** `--json`: the outcome with both ends' final query-migrate. */
export function summaryJson(o: MigrationOutcome): Record<string, unknown> {
  const s = o.source.info;
  return {
    result: o.result,
    exitCode: o.exitCode,
    source: { address: o.source.address, product: o.source.product, status: s.status ?? 'none', queryMigrate: s },
    target: o.target
      ? { address: o.target.address, product: o.target.product, status: o.target.info.status ?? 'none', queryMigrate: o.target.info }
      : null,
    totalTimeMs: s['total-time'] ?? null,
    downtimeMs: s.downtime ?? null,
    setupTimeMs: s['setup-time'] ?? null,
    transferred: (s.ram?.transferred ?? 0) + (s.disk?.transferred ?? 0),
    passes: s.ram?.['dirty-sync-count'] ?? 0,
  };
}
