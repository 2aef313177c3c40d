// Feeding a push parser of migration streams (savevm's StreamReader, structurally) as a target's incoming
// worker does: chunk by chunk, awaiting backpressure between pushes, then end() and flush(). What it records is
// compared across chunk splits and checked against the fuzz properties.
import { checkErrorChain, withDeadline, type ErrorCheck } from './outcome.js';

/** What the harness needs of a stream reader (savevm's StreamReader has it). */
export interface PushParser {
  push(chunk: Uint8Array): void;
  end(): void;
  backpressure(): Promise<void> | undefined;
  flush(): Promise<void>;
  readonly bufferedBytes: number;
}

/** What the harness needs of a section handler (savevm's LoadSection has it). */
export interface ParsingSection {
  parse(b: Uint8Array, p: number, end: number, context: { readonly offset: number }): number;
  begin(kind: never, versionId: number, context: { readonly offset: number }): void;
}

export type LoadOutcome =
  | { readonly kind: 'completed' }
  | { readonly kind: 'refused'; readonly message: string; readonly offset: number };

export interface LoadLimits {
  /** Most bytes the reader may hold of a partial record after a push. */
  readonly maxBuffered: number;
  /** Most handler parse calls per input byte and per push (more means a parser that does not advance). */
  readonly stepsPerByte: number;
  /** How long one load may take (a hang otherwise); generous, the machine is shared. */
  readonly deadlineMs: number;
}

/** The errors a stream reader may refuse input with: StreamError, with XBZRLE's and plain Errors as causes. */
export const STREAM_ERRORS: ErrorCheck = {
  top: ['StreamError'],
  allowed: ['StreamError', 'XbzrleDecodeError'],
  forbiddenMessages: /handler failed|parser asked for|Cannot read properties|is not a function|NaN/,
};

/**
 * Counts parse calls of `sections` (patched in place) and collects the offsets where their records start. A
 * call past `limit` throws a FuzzViolation from inside the parse, so a parser that stops advancing is caught
 * in the push that loops, not after it.
 */
export class SectionProbe {
  steps = 0;
  limit = Number.POSITIVE_INFINITY;
  readonly starts = new Set<number>();

  constructor(sections: readonly ParsingSection[], collectStarts = false) {
    for (const s of sections) {
      const parse = s.parse.bind(s);
      const begin = s.begin.bind(s);
      s.parse = (b, p, end, context) => {
        if (++this.steps > this.limit) throw new FuzzViolation(`${this.steps} parse steps, over the limit of ${this.limit}: a parser that does not advance`);
        const r = parse(b, p, end, context);
        if (collectStarts && r > 0) this.starts.add(context.offset).add(context.offset + r);
        return r;
      };
      if (collectStarts) {
        s.begin = (kind, versionId, context) => {
          this.starts.add(context.offset);
          begin(kind, versionId, context);
        };
      }
    }
  }
}

/**
 * Loads `pieces` into `reader`; returns how it ended. Throws (a fuzz failure) when the reader crashed (an
 * error outside STREAM_ERRORS), held more than `maxBuffered`, took more steps than its input allows, or hung.
 */
export async function loadPieces(
  reader: PushParser, probe: SectionProbe, pieces: readonly Uint8Array[], limits: LoadLimits, check: ErrorCheck = STREAM_ERRORS,
): Promise<LoadOutcome> {
  let bytes = 0;
  const run = async (): Promise<void> => {
    for (const piece of pieces) {
      bytes += piece.length;
      probe.limit = limits.stepsPerByte * (bytes + pieces.length) + 64;
      reader.push(piece);
      if (reader.bufferedBytes > limits.maxBuffered) {
        throw new FuzzViolation(`reader holds ${reader.bufferedBytes} bytes of a partial record (limit ${limits.maxBuffered})`);
      }
      const wait = reader.backpressure();
      if (wait) await wait;
    }
    reader.end();
    await reader.flush();
  };
  try {
    await withDeadline(run(), limits.deadlineMs, `loading ${bytes} bytes`);
    return { kind: 'completed' };
  } catch (err) {
    const violation = findViolation(err);
    if (violation) throw violation;
    const crash = checkErrorChain(err, check);
    if (crash !== undefined) throw new FuzzViolation(`crash: ${crash}`, err);
    const e = err as Error & { offset?: unknown };
    if (typeof e.offset !== 'number' || !Number.isSafeInteger(e.offset) || e.offset < 0 || e.offset > bytes) {
      throw new FuzzViolation(`refusal without a valid offset (${String(e.offset)}, ${bytes} bytes pushed): ${e.message}`, err);
    }
    return { kind: 'refused', message: e.message, offset: e.offset };
  }
}

/** A FuzzViolation anywhere in the cause chain (the reader wraps what a section throws). */
function findViolation(err: unknown): FuzzViolation | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof FuzzViolation) return e;
  }
  return undefined;
}

/** A fuzz property violated (as opposed to an input refused). */
export class FuzzViolation extends Error {
  override readonly name = 'FuzzViolation';
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
  }
}
