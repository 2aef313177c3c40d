// The input of `mig report`: the record `mig migrate --record FILE` writes (people/record.ts, turned into a
// timeline by record-timeline.ts), or this plain timeline, for records made by other tools (README: "mig report"):
//   {"type":"sample","t":1.5,"status":"active","remaining":B,"transferred":B,"total":B,"mbps":M,
//    "dirtyRate":B/s,"pass":N,"disk":{"remaining":B,"transferred":B,"total":B}}
//   {"type":"pass","pass":N,"t":S}          a dirty sync began pass N
//   {"type":"downtime","start":S,"end":S}   the guest was stopped for the switchover
// t, start and end are seconds since the migration started; B are bytes, mbps Mbit/s as QEMU's, dirtyRate
// bytes per second. Lines of other types (headers, summaries) are skipped; a malformed line is an error
// naming its line number.
import { z } from 'zod';
import { isMigrateRecord, timelineOfMigrateRecord } from './record-timeline.js';

const bytes = z.number().nonnegative();
const seconds = z.number().nonnegative();

const SampleLine = z.object({
  type: z.literal('sample'),
  t: seconds,
  status: z.string(),
  remaining: bytes,
  transferred: bytes,
  total: bytes.optional(),
  mbps: z.number().nonnegative().default(0),
  dirtyRate: z.number().nonnegative().default(0),
  pass: z.number().int().nonnegative().optional(),
  disk: z.object({ remaining: bytes, transferred: bytes, total: bytes.optional() }).optional(),
});

const PassLine = z.object({ type: z.literal('pass'), pass: z.number().int().nonnegative(), t: seconds });
const DowntimeLine = z.object({ type: z.literal('downtime'), start: seconds, end: seconds.optional() });

export type Sample = z.infer<typeof SampleLine>;
export type PassMark = z.infer<typeof PassLine>;
export type Downtime = z.infer<typeof DowntimeLine>;

export interface MigrationTimeline {
  samples: Sample[];
  passes: PassMark[];
  downtime?: Downtime;
}

export class RecordError extends Error {
  override readonly name = 'RecordError';
  constructor(readonly line: number, message: string) {
    super(`line ${line}: ${message}`);
  }
}

const KNOWN = { sample: SampleLine, pass: PassLine, downtime: DowntimeLine } as const;

/** The samples, passes and downtime of a record's text; samples sorted by time. */
export function parseMigrationRecord(text: string): MigrationTimeline {
  if (isMigrateRecord(text)) return timelineOfMigrateRecord(text);
  const timeline: MigrationTimeline = { samples: [], passes: [] };
  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '') continue;
    const entry = parseLine(line, i + 1);
    if (entry === undefined) continue;
    if (entry.type === 'sample') timeline.samples.push(entry);
    else if (entry.type === 'pass') timeline.passes.push(entry);
    else if (timeline.downtime !== undefined) throw new RecordError(i + 1, 'a second downtime line (one migration, one switchover)');
    else timeline.downtime = entry;
  }
  if (timeline.samples.length === 0) throw new RecordError(lines.length, 'no sample line: nothing to draw');
  timeline.samples.sort((a, b) => a.t - b.t);
  return timeline;
}

function parseLine(line: string, n: number): Sample | PassMark | Downtime | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (e) {
    throw new RecordError(n, `not JSON: ${(e as Error).message}`);
  }
  const type = (value as { type?: unknown } | null)?.type;
  if (typeof type !== 'string') throw new RecordError(n, 'not an object with a "type"');
  const schema = KNOWN[type as keyof typeof KNOWN];
  if (schema === undefined) return undefined;
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new RecordError(n, `${type}: ${issue.path.join('.') || 'line'}: ${issue.message}`);
  }
  return parsed.data;
}
