// The record `mig migrate --record FILE` writes, for `mig report` and anyone else: JSON lines, one object a
// line, each with a `type`. Times `t` are ms since the `start` line's `time` (the CLI's clock, epoch ms).
//
//   start   once, first: who, what, with which settings
//   status  an end's migration state changed (source and, with --incoming-qmp, target)
//   pass    the source's dirty-sync-count rose (pass 1 = the bulk pass); the first one seen too
//   sample  each look at the source (~5 a second): its whole query-migrate reply and mig's progress
//   end     once, last: both ends' final query-migrate, the downtime window, the exit status
//
// A record cut short (mig killed) has no `end`; readers take what is there. Version 1; a reader refuses others.
import { createWriteStream, type WriteStream } from 'node:fs';
import { z } from 'zod';

export const RECORD_VERSION = 1;

const Endpoint = z.object({ address: z.string(), product: z.string() });
const Progress = z.object({
  percent: z.number(), etaMs: z.number().nullable(), processed: z.number(), rate: z.number(),
  remaining: z.number(), total: z.number(), converging: z.boolean(), origin: z.enum(['mig', 'estimated']),
});
/** query-migrate as the end sent it (QEMU 7.2's MigrationInfo); members kept as they come. */
const QueryMigrate = z.looseObject({ status: z.string().optional() });

export const StartLine = z.object({
  type: z.literal('start'),
  version: z.literal(RECORD_VERSION),
  /** Epoch ms: `t` counts from here. */
  time: z.number(),
  startedAt: z.string(),
  tool: z.string(),
  source: Endpoint,
  target: Endpoint.nullable(),
  uri: z.string(),
  options: z.object({
    bandwidth: z.number().nullable(), downtimeLimit: z.number().nullable(),
    xbzrle: z.boolean(), autoConverge: z.boolean(), blk: z.boolean(), inc: z.boolean(),
  }),
  /** The source's query-migrate-parameters once set up. */
  parameters: z.record(z.string(), z.unknown()),
});
export const StatusLine = z.object({ type: z.literal('status'), t: z.number(), side: z.enum(['source', 'target']), status: z.string() });
export const PassLine = z.object({ type: z.literal('pass'), t: z.number(), pass: z.number() });
export const SampleLine = z.object({
  type: z.literal('sample'),
  t: z.number(),
  status: z.string(),
  source: QueryMigrate,
  /** The target's query-migrate, when its QMP was given. */
  target: QueryMigrate.nullable(),
  progress: Progress,
});
export const EndLine = z.object({
  type: z.literal('end'),
  t: z.number(),
  exitCode: z.number(),
  /** When the source accepted `migrate` (its total-time counts from about here). */
  migrateT: z.number().nullable(),
  source: QueryMigrate,
  target: QueryMigrate.nullable(),
  /** The guest stopped for the switchover from fromT to toT (from the source's total-time and downtime). */
  downtime: z.object({ ms: z.number(), fromT: z.number(), toT: z.number() }).nullable(),
  totalTimeMs: z.number().nullable(),
  setupTimeMs: z.number().nullable(),
  passes: z.number(),
});
export const RecordLine = z.discriminatedUnion('type', [StartLine, StatusLine, PassLine, SampleLine, EndLine]);

export type StartRecord = z.infer<typeof StartLine>;
export type StatusRecord = z.infer<typeof StatusLine>;
export type PassRecord = z.infer<typeof PassLine>;
export type SampleRecord = z.infer<typeof SampleLine>;
export type EndRecord = z.infer<typeof EndLine>;
export type RecordEntry = z.infer<typeof RecordLine>;

export interface MigrationRecord {
  start: StartRecord;
  statuses: StatusRecord[];
  passes: PassRecord[];
  samples: SampleRecord[];
  /** Absent when the record was cut short. */
  end: EndRecord | undefined;
}

export class RecordFormatError extends Error {
  override name = 'RecordFormatError';
  constructor(readonly line: number, message: string) {
    super(`record line ${line}: ${message}`);
  }
}

/** Reads a whole record; a bad line is refused naming its number and what was wrong. */
export function parseRecord(text: string): MigrationRecord {
  const lines = text.split('\n');
  let start: StartRecord | undefined;
  const out = { statuses: [] as StatusRecord[], passes: [] as PassRecord[], samples: [] as SampleRecord[], end: undefined as EndRecord | undefined };
  lines.forEach((raw, i) => {
    if (raw.trim() === '') return;
    const n = i + 1;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (err) {
      throw new RecordFormatError(n, `not JSON (${(err as Error).message})`);
    }
    if (start === undefined && (json as { type?: unknown }).type === 'start' && (json as { version?: unknown }).version !== RECORD_VERSION) {
      throw new RecordFormatError(n, `record version ${String((json as { version?: unknown }).version)} is not ${RECORD_VERSION}`);
    }
    const parsed = RecordLine.safeParse(json);
    if (!parsed.success) throw new RecordFormatError(n, z.prettifyError(parsed.error).replaceAll('\n', '; '));
    const e = parsed.data;
    if (start === undefined && e.type !== 'start') throw new RecordFormatError(n, `the first line must be 'start', got '${e.type}'`);
    if (e.type === 'start') {
      if (start !== undefined) throw new RecordFormatError(n, "a second 'start'");
      start = e;
    } else if (e.type === 'status') out.statuses.push(e);
    else if (e.type === 'pass') out.passes.push(e);
    else if (e.type === 'sample') out.samples.push(e);
    else out.end = e;
  });
  if (start === undefined) throw new RecordFormatError(1, "empty: no 'start' line");
  return { start, ...out };
}

/** Appends record lines to a file as they come. */
export class RecordWriter {
  readonly #out: WriteStream;
  #failed: Error | undefined;

  private constructor(readonly path: string, readonly origin: number) {
    this.#out = createWriteStream(path, { flags: 'w' });
    this.#out.on('error', (err) => {
      this.#failed ??= err;
    });
  }

  /** A new record at `path`, starting with its `start` line. */
  static open(path: string, start: StartRecord): RecordWriter {
    const w = new RecordWriter(path, start.time);
    w.write(start);
    return w;
  }

  /** `t` for an io clock time. */
  at(time: number): number {
    return Math.round(time - this.origin);
  }

  write(entry: RecordEntry): void {
    if (this.#failed === undefined) this.#out.write(`${JSON.stringify(entry)}\n`);
  }

  /** Ends the file; rejects with the first write error. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.#out.end(resolve));
    if (this.#failed) throw new Error(`cannot write the record ${this.path}: ${this.#failed.message}`);
  }
}
