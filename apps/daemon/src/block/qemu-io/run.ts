// Runs one qemu-io command line against a drive and returns what qemu-io 7.2 prints for it (its report, or
// its words for what went wrong). Guest writes go through Drive.write / writeZeroes, so they are refused
// while the image is inactive and mark the chunks they wrote dirty. Large requests go in pieces of 16 MiB
// (one buffer, reused), counted and timed as the one request qemu-io makes.
import { parseRead, parseWrite, type ParsedCommand, type ReadRequest, type WriteRequest } from './commands.js';
import { hexDump, ioReport } from './report.js';

/** What qemu-io needs of a drive (a Drive). */
export interface QemuIoDrive {
  readonly size: number;
  readonly readOnly: boolean;
  read(offset: number, buf: Uint8Array, len: number): Promise<void>;
  write(offset: number, buf: Uint8Array, len: number): Promise<void>;
  writeZeroes(offset: number, len: number): Promise<void>;
  flush(): Promise<void>;
}

const PIECE_BYTES = 16 << 20;
const COMMANDS: Record<string, { canonical: 'read' | 'write'; parse: (name: string, args: readonly string[]) => ParsedCommand }> = {
  read: { canonical: 'read', parse: parseRead },
  r: { canonical: 'read', parse: parseRead },
  write: { canonical: 'write', parse: parseWrite },
  w: { canonical: 'write', parse: parseWrite },
};
/** What QEMU's HMP answers when a write command meets a read-only drive (before the command runs). */
export const READ_ONLY_REPLY = 'Block node is read-only\r\n';

export async function runQemuIo(drive: QemuIoDrive, commandLine: string): Promise<string> {
  const args = commandLine.split(' ').filter((a) => a !== '');
  const name = args[0];
  if (name === undefined) return '';
  const command = COMMANDS[name];
  if (command === undefined) return `command "${name}" not found\n`;
  if (args.length - 1 < 2) return `bad argument count ${args.length - 1} to ${name}, expected at least 2 arguments\n`;
  if (command.canonical === 'write' && drive.readOnly) return READ_ONLY_REPLY;
  const parsed = command.parse(name, args.slice(1));
  if ('output' in parsed) return parsed.output;
  const { request, notes } = parsed;
  if (request.offset + request.count > drive.size) return `${notes}${request.op} failed: Input/output error\n`;
  return notes + (request.op === 'write' ? await runWrite(drive, request) : await runRead(drive, request));
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function runWrite(drive: QemuIoDrive, w: WriteRequest): Promise<string> {
  const buf = w.zero ? undefined : new Uint8Array(Math.min(w.count, PIECE_BYTES)).fill(w.pattern);
  const started = performance.now();
  try {
    for (let done = 0; done < w.count; ) {
      const n = Math.min(PIECE_BYTES, w.count - done);
      await (buf === undefined ? drive.writeZeroes(w.offset + done, n) : drive.write(w.offset + done, buf, n));
      done += n;
    }
    if (w.flush) await drive.flush();
  } catch (err) {
    return `write failed: ${describe(err)}\n`;
  }
  return w.quiet ? '' : ioReport('wrote', w.offset, w.count, (performance.now() - started) / 1000);
}

async function runRead(drive: QemuIoDrive, r: ReadRequest): Promise<string> {
  const buf = new Uint8Array(Math.min(r.count, PIECE_BYTES));
  const verifyStart = r.verifyOffset;
  const verifyEnd = r.verifyOffset + r.verifyCount;
  let mismatch = false;
  let dump = '';
  const started = performance.now();
  try {
    for (let done = 0; done < r.count; ) {
      const n = Math.min(PIECE_BYTES, r.count - done);
      await drive.read(r.offset + done, buf, n);
      if (r.pattern !== undefined && !mismatch) mismatch = !matches(buf, Math.max(0, verifyStart - done), Math.min(n, verifyEnd - done), r.pattern);
      if (r.dump) dump += hexDump(buf.subarray(0, n), r.offset + done);
      done += n;
    }
  } catch (err) {
    return `read failed: ${describe(err)}\n`;
  }
  const seconds = (performance.now() - started) / 1000;
  const failed = mismatch ? `Pattern verification failed at offset ${r.offset + r.verifyOffset}, ${r.verifyCount} bytes\n` : '';
  return failed + (r.quiet ? '' : dump + ioReport('read', r.offset, r.count, seconds));
}

/** Whether buf[from, to) is all `pattern` (an empty range is). */
function matches(buf: Uint8Array, from: number, to: number, pattern: number): boolean {
  for (let i = from; i < to; i++) if (buf[i] !== pattern) return false;
  return true;
}
