// qemu-io's `read` and `write` commands, parsed as qemu-io 7.2 parses them, with its texts for every refusal
// (checked by running it). mig does the options a test needs; the rest are refused by name.
import { getopt } from './getopt.js';
import { parseQemuIoNumber } from './number.js';

/** BDRV_REQUEST_MAX_BYTES: the largest single request qemu-io makes. */
export const MAX_REQUEST_BYTES = 2147483136;
/** What `write` writes without -P. */
export const DEFAULT_WRITE_PATTERN = 0xcd;

export interface ReadRequest {
  op: 'read';
  offset: number;
  count: number;
  /** -P: the byte every verified byte must be. */
  pattern: number | undefined;
  /** The verified part of the read: [verifyOffset, verifyOffset + verifyCount) relative to `offset`. */
  verifyOffset: number;
  verifyCount: number;
  quiet: boolean;
  /** -v: dump the bytes read. */
  dump: boolean;
}

export interface WriteRequest {
  op: 'write';
  offset: number;
  count: number;
  pattern: number;
  /** -z: write zeroes. */
  zero: boolean;
  quiet: boolean;
  /** -f: flush once written (mig's way of forcing unit access). */
  flush: boolean;
}

export type QemuIoRequest = ReadRequest | WriteRequest;

/** A request to run, or the text qemu-io prints instead; `notes` (warnings) come first either way. */
export type ParsedCommand = { request: QemuIoRequest; notes: string } | { output: string };

export const USAGE = {
  read: 'read [-abCqv] [-P pattern [-s off] [-l len]] off len -- reads a number of bytes at a specified offset\n',
  write: 'write [-bcCfnquz] [-P pattern | -s source_file] off len -- writes a number of bytes at a specified offset\n',
} as const;

/** Options qemu-io has that mig does not do. */
const NOT_DONE: Record<string, string> = {
  b: 'vmstate access', c: 'compressed writes', C: 'machine-readable reports', s: 'writes from a source file',
};

/** A strtol(…, 0) byte: decimal, 0x hex or 0 octal, 0..255. */
function parsePattern(text: string): number | undefined {
  if (!/^[+-]?(?:0x[0-9a-f]+|0[0-7]*|[1-9]\d*)$/i.test(text)) return undefined;
  const negative = text.startsWith('-');
  const body = text.replace(/^[+-]/, '');
  const value = /^0x/i.test(body) ? parseInt(body, 16) : body.startsWith('0') ? parseInt(body, 8) : parseInt(body, 10);
  const signed = negative ? -value : value;
  return signed >= 0 && signed <= 255 ? signed : undefined;
}

/** `off len` of a request: the numbers, or qemu-io's error for the first bad one. */
function offsetAndCount(op: 'read' | 'write', operands: readonly string[], notes: string[], unlimited = false): { offset: number; count: number } | { output: string } {
  const offset = parseQemuIoNumber(operands[0]!);
  if ('error' in offset) return { output: `${offset.error}\n` };
  const count = parseQemuIoNumber(operands[1]!);
  if ('error' in count) return { output: `${count.error}\n` };
  for (const n of [offset, count]) if (n.warning !== undefined) notes.push(n.warning);
  if (count.value > MAX_REQUEST_BYTES && !unlimited) {
    return { output: `length cannot exceed ${MAX_REQUEST_BYTES}${op === 'write' ? ' without -n' : ''}, given ${operands[1]}\n` };
  }
  return { offset: offset.value, count: count.value };
}

export function parseWrite(name: string, args: readonly string[]): ParsedCommand {
  const parsed = getopt(name, args, 'bcCfnpP:quzs:');
  if ('error' in parsed) return { output: `${parsed.error}\n${USAGE.write}` };
  const flags = new Set<string>();
  let pattern = DEFAULT_WRITE_PATTERN;
  for (const { letter, arg } of parsed.options) {
    if (letter === 'P') {
      const p = parsePattern(arg!);
      if (p === undefined) return { output: `${arg} is not a valid pattern byte\n` };
      pattern = p;
    }
    flags.add(letter);
  }
  if (parsed.operands.length !== 2) return { output: USAGE.write };
  if (flags.has('b') && flags.has('z')) return { output: '-b and -z cannot be specified at the same time\n' };
  if (flags.has('u') && !flags.has('z')) return { output: '-u requires -z to be specified\n' };
  if (flags.has('n') && !flags.has('z')) return { output: '-n requires -z to be specified\n' };
  if (['z', 'P', 's'].filter((f) => flags.has(f)).length > 1) return { output: 'Only one of -z, -P, and -s can be specified at the same time\n' };
  const undone = [...flags].find((f) => NOT_DONE[f] !== undefined);
  if (undone !== undefined) return { output: `write -${undone}: mig's qemu-io cannot do ${NOT_DONE[undone]}\n` };
  const notes: string[] = [];
  const range = offsetAndCount('write', parsed.operands, notes, flags.has('n'));
  if ('output' in range) return range;
  return {
    request: { op: 'write', ...range, pattern, zero: flags.has('z'), quiet: flags.has('q'), flush: flags.has('f') },
    notes: notes.map((n) => `${n}\r\n`).join(''),
  };
}

export function parseRead(name: string, args: readonly string[]): ParsedCommand {
  const parsed = getopt(name, args, 'bCpqvP:l:s:');
  if ('error' in parsed) return { output: `${parsed.error}\n${USAGE.read}` };
  const flags = new Set<string>();
  let pattern: number | undefined;
  let verifyOffset = 0;
  let verifyCount: number | undefined;
  for (const { letter, arg } of parsed.options) {
    flags.add(letter);
    if (letter === 'P') {
      pattern = parsePattern(arg!);
      if (pattern === undefined) return { output: `${arg} is not a valid pattern byte\n` };
    } else if (letter === 's' || letter === 'l') {
      const n = parseQemuIoNumber(arg!);
      if ('error' in n) return { output: `${n.error}\n` };
      if (letter === 's') verifyOffset = n.value;
      else verifyCount = n.value;
    }
  }
  if (parsed.operands.length !== 2) return { output: USAGE.read };
  const undone = [...flags].find((f) => NOT_DONE[f] !== undefined && f !== 's');
  if (undone !== undefined) return { output: `read -${undone}: mig's qemu-io cannot do ${NOT_DONE[undone]}\n` };
  const notes: string[] = [];
  const range = offsetAndCount('read', parsed.operands, notes);
  if ('output' in range) return range;
  if (pattern === undefined && (flags.has('s') || flags.has('l'))) return { output: USAGE.read };
  const count = verifyCount ?? range.count - verifyOffset;
  if (count < 0 || verifyOffset + count > range.count) return { output: 'pattern verification range exceeds end of read data\n' };
  return {
    request: { op: 'read', ...range, pattern, verifyOffset, verifyCount: count, quiet: flags.has('q'), dump: flags.has('v') },
    notes: notes.map((n) => `${n}\r\n`).join(''),
  };
}
