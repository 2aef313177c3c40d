// `mig migrate --record FILE` writes a versioned record (people/record.ts: start, status, pass, sample, end
// lines; times in ms since the CLI's start, whole query-migrate replies). The report draws a timeline in
// seconds since the migration began; this turns the one into the other.
import { parseRecord, RecordFormatError, type MigrationRecord, type SampleRecord } from '../../people/record.js';
import { RecordError, type MigrationTimeline, type Sample } from './migration-record.js';

interface RamFigures {
  remaining?: number;
  transferred?: number;
  total?: number;
  mbps?: number;
  'dirty-pages-rate'?: number;
  'page-size'?: number;
  'dirty-sync-count'?: number;
}
interface DiskFigures {
  remaining?: number;
  transferred?: number;
  total?: number;
}

/** Does this text start (first non-empty line) with a `start` line of mig migrate's record? */
export function isMigrateRecord(text: string): boolean {
  const first = text.split('\n').find((l) => l.trim() !== '');
  if (first === undefined) return false;
  try {
    return (JSON.parse(first) as { type?: unknown }).type === 'start';
  } catch {
    return false;
  }
}

/** The timeline of a mig migrate record; a malformed line is a RecordError naming it. */
export function timelineOfMigrateRecord(text: string): MigrationTimeline {
  let record: MigrationRecord;
  try {
    record = parseRecord(text);
  } catch (e) {
    if (e instanceof RecordFormatError) throw new RecordError(e.line, e.message.replace(/^record line \d+: /, ''));
    throw e;
  }
  // t = 0 where the source accepted migrate (before that the CLI was setting both ends up)
  const zero = record.end?.migrateT ?? record.samples[0]?.t ?? 0;
  const sec = (ms: number): number => Math.max(0, (ms - zero) / 1000);
  const samples = record.samples.filter((s) => s.t >= zero).map((s) => sampleOf(s, sec(s.t)));
  if (samples.length === 0) throw new RecordError(text.split('\n').length, 'no sample after the migration started: nothing to draw');
  const timeline: MigrationTimeline = {
    samples,
    passes: record.passes.map((p) => ({ type: 'pass', pass: p.pass, t: sec(p.t) })),
  };
  const d = record.end?.downtime;
  if (d) timeline.downtime = { type: 'downtime', start: sec(d.fromT), end: sec(d.toT) };
  return timeline;
}

function sampleOf(s: SampleRecord, t: number): Sample {
  const ram = (s.source['ram'] ?? {}) as RamFigures;
  const disk = s.source['disk'] as DiskFigures | undefined;
  const sample: Sample = {
    type: 'sample',
    t,
    status: s.status,
    remaining: ram.remaining ?? 0,
    transferred: ram.transferred ?? 0,
    total: ram.total ?? 0,
    mbps: ram.mbps ?? 0,
    dirtyRate: (ram['dirty-pages-rate'] ?? 0) * (ram['page-size'] ?? 4096),
    pass: ram['dirty-sync-count'] ?? 0,
  };
  if (disk) sample.disk = { remaining: disk.remaining ?? 0, transferred: disk.transferred ?? 0, total: disk.total ?? 0 };
  return sample;
}
