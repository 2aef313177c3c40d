// Follows a migration from its source until it ends: the live bar (or a line a second), the advice when it
// stops converging, and the record lines. Shared by `mig migrate` and `mig watch`.
import type { Endpoint } from './endpoint.js';
import type { CliIo, CliOutput } from './io.js';
import { renderBar } from './bar.js';
import { isEnded, MigrationWatch, type Snapshot } from './migration-watch.js';
import type { RecordWriter } from './record.js';
import type { MigrationInfo } from '@mig/qmp';

/** bar: one line redrawn in place (a terminal); lines: a line a second (a pipe, a log); none: quiet. */
export type ProgressMode = 'bar' | 'lines' | 'none';

export const PROGRESS_MODES: readonly ProgressMode[] = ['bar', 'lines', 'none'];

/** How often the source is asked, ms. */
export const LOOK_MS = 200;
const LINE_MS = 1000;

export interface FollowOptions {
  source: Endpoint;
  target?: Endpoint | undefined;
  io: CliIo;
  mode: ProgressMode;
  /** Where the progress goes (stdout, or stderr when stdout carries --json). */
  out: CliOutput;
  record?: RecordWriter | undefined;
}

/** Ends when the source's migration has ended (completed, failed, cancelled) or none runs; returns the last look. */
export async function followMigration(o: FollowOptions): Promise<Snapshot> {
  const watch = new MigrationWatch(o.source, o.io);
  const seen = { source: '', target: '', pass: 0, lastLine: -Infinity, advised: false };
  const width = Math.max(40, (o.out.columns ?? 120) - 1);
  for (;;) {
    const s = await watch.look();
    const target = o.target ? await o.target.queryMigrate() : undefined;
    if (o.record) recordLook(o.record, s, target, seen);
    if (!s.progress.converging && s.status === 'active' && !seen.advised && s.progress.advice.length > 0 && o.mode !== 'none') {
      seen.advised = true;
      o.out.write(`${o.mode === 'bar' ? '\r\x1b[K' : ''}migration is not converging; what would help:\n${s.progress.advice.map((a) => `  - ${a}`).join('\n')}\n`);
    }
    const done = isEnded(s.status) || s.status === 'none';
    if (o.mode === 'bar') o.out.write(`\r\x1b[K${renderBar(s, width)}${done ? '\n' : ''}`);
    else if (o.mode === 'lines' && (done || s.time - seen.lastLine >= LINE_MS)) {
      o.out.write(`${renderBar(s, 200)}\n`);
      seen.lastLine = s.time;
    }
    if (done) return s;
    await o.io.sleep(LOOK_MS);
  }
}

function recordLook(record: RecordWriter, s: Snapshot, target: MigrationInfo | undefined, seen: { source: string; target: string; pass: number }): void {
  const t = record.at(s.time);
  if (s.status !== seen.source) record.write({ type: 'status', t, side: 'source', status: s.status });
  seen.source = s.status;
  const targetStatus = target ? (target.status ?? 'none') : '';
  if (target && targetStatus !== seen.target) record.write({ type: 'status', t, side: 'target', status: targetStatus });
  seen.target = targetStatus;
  const pass = s.info.ram?.['dirty-sync-count'] ?? 0;
  if (pass > seen.pass) record.write({ type: 'pass', t, pass });
  seen.pass = Math.max(seen.pass, pass);
  const { percent, etaMs, processed, rate, remaining, total, converging, origin } = s.progress;
  record.write({
    type: 'sample', t, status: s.status, source: s.info, target: target ?? null,
    progress: { percent, etaMs, processed, rate, remaining, total, converging, origin },
  });
}
