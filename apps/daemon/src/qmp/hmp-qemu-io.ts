// HMP's `qemu-io [-d] DRIVE "COMMAND"`: the monitor's own argument parsing (a drive name, then one string,
// quoted with \" \\ \n escapes or a single word) and drive lookup, with QEMU 7.2's texts, then the command
// itself (block/qemu-io). QEMU prints qemu-io's report on its stdout; mig returns it as the HMP reply.
import type { Drive } from '../block/drive.js';
import { runQemuIo } from '../block/qemu-io/run.js';

const TRY_HELP = 'Try "help qemu-io" for more information\r\n';
const ESCAPES: Record<string, string> = { n: '\n', r: '\r', '\\': '\\', "'": "'", '"': '"' };

type Parsed = { qdev: boolean; device: string; command: string } | { reply: string };

function monitorError(what: string, before = ''): { reply: string } {
  return { reply: `${before}qemu-io: ${what}\r\n${TRY_HELP}` };
}

/** The HMP string argument at `text[at]`: a quoted string (with escapes) or a word. */
function readString(text: string, at: number): { value: string; end: number } | { reply: string } {
  if (text[at] !== '"') {
    let end = at;
    while (end < text.length && !/\s/.test(text[end]!)) end++;
    return { value: text.slice(at, end), end };
  }
  let value = '';
  for (let i = at + 1; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '"') return { value, end: i + 1 };
    if (ch !== '\\') {
      value += ch;
      continue;
    }
    const escaped = ESCAPES[text[++i] ?? ''];
    if (escaped === undefined) return monitorError('string expected', `unsupported escape code: '\\${text[i] ?? ''}'\r\n`);
    value += escaped;
  }
  return monitorError('string expected', 'unterminated string\r\n');
}

/** `[-d] DRIVE STRING` after the command name. */
export function parseQemuIoArgs(rest: string): Parsed {
  let at = 0;
  const skip = () => {
    while (at < rest.length && /\s/.test(rest[at]!)) at++;
  };
  skip();
  let qdev = false;
  if (/^-d(\s|$)/.test(rest.slice(at))) {
    qdev = true;
    at += 2;
    skip();
  }
  const deviceStart = at;
  while (at < rest.length && !/\s/.test(rest[at]!)) at++;
  const device = rest.slice(deviceStart, at);
  if (device === '') return monitorError('block device name expected');
  skip();
  if (at >= rest.length) return monitorError('string expected');
  const str = readString(rest, at);
  if ('reply' in str) return str;
  at = str.end;
  skip();
  if (at < rest.length) return monitorError('extraneous characters at the end of line');
  return { qdev, device, command: str.value };
}

/** Runs `qemu-io ...` (`rest` is what follows the command name) against the drive it names. */
export async function qemuIoMonitorCommand(rest: string, drives: { find(idOrNodeName: string): Drive | undefined }): Promise<string> {
  const parsed = parseQemuIoArgs(rest);
  if ('reply' in parsed) return parsed.reply;
  // -d names a guest device (qdev id); -machine none has none
  if (parsed.qdev) return `Error: Device '${parsed.device}' not found\r\n`;
  const drive = drives.find(parsed.device);
  if (drive === undefined) return `Error: Cannot find device='' nor node-name='${parsed.device}'\r\n`;
  return runQemuIo(drive, parsed.command);
}
