// A recorded migration for mig report's tests, in the record's JSON lines: RAM (and optionally disk) that
// drains at a bandwidth while the guest dirties pages, a pass per dirty sync, the downtime at the end.
const MiB = 1 << 20;

export interface SimulatedMigration {
  ramMiB: number;
  bandwidthMiBs: number;
  dirtyMiBs: number;
  passes: number;
  disk?: boolean;
  /** Seconds between samples. */
  interval?: number;
}

export function recordLines(m: SimulatedMigration): { text: string; passStarts: number[]; downtime: { start: number; end: number } } {
  const lines: string[] = [];
  const interval = m.interval ?? 0.1;
  const passStarts: number[] = [];
  let t = 0;
  let due = m.ramMiB;
  let transferred = 0;
  for (let pass = 1; pass <= m.passes; pass++) {
    passStarts.push(t);
    lines.push(JSON.stringify({ type: 'pass', pass, t }));
    const passSeconds = due / m.bandwidthMiBs;
    for (let s = 0; s < passSeconds; s += interval, t += interval) {
      const left = Math.max(0, due - s * m.bandwidthMiBs);
      transferred += m.bandwidthMiBs * interval * MiB;
      const disk = m.disk ? { disk: { remaining: Math.max(0, 64 - t * 20) * MiB, transferred: Math.min(64, t * 20) * MiB, total: 64 * MiB } } : {};
      lines.push(JSON.stringify({ type: 'sample', t, status: 'active', remaining: left * MiB, transferred, total: m.ramMiB * MiB, mbps: m.bandwidthMiBs * 8.388608, dirtyRate: m.dirtyMiBs * MiB, pass, ...disk }));
    }
    due = Math.max(1, passSeconds * m.dirtyMiBs);
  }
  const downtime = { start: t, end: t + 0.3 };
  lines.push(JSON.stringify({ type: 'downtime', ...downtime }));
  lines.push(JSON.stringify({ type: 'sample', t: downtime.end, status: 'completed', remaining: 0, transferred, total: m.ramMiB * MiB, mbps: 0, dirtyRate: 0, pass: m.passes }));
  lines.push(JSON.stringify({ type: 'summary', note: 'lines of other types are skipped' }));
  return { text: `${lines.join('\n')}\n`, passStarts, downtime };
}
