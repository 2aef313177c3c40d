// `-drive if=none,id=ID,file=FILE[,format=raw|qcow2][,readonly=on|off]`: the drives of a `-machine none`
// guest, with QEMU 7.2's texts for what it refuses. The file is opened when the daemon starts (block/open-drive.ts).
import { parseOptionList } from './options.js';

export type DriveFormat = 'raw' | 'qcow2';

export interface DriveConfig {
  /** The BlockBackend name: QMP, qemu-io and the block migration stream call the drive by it. */
  id: string;
  file: string;
  /** Unset: detected from the file, as QEMU probes (with its warning for raw). */
  format?: DriveFormat;
  readOnly: boolean;
  /** The option text as given, for messages (`-drive TEXT: ...`). */
  option: string;
}

export class DriveOptionError extends Error {
  override name = 'DriveOptionError';
}

// QEMU's identifier rule; at most 255 bytes because the block stream carries the name after one length byte.
const IDENTIFIER = /^[A-Za-z][A-Za-z0-9_.-]*$/;
const MAX_ID_BYTES = 255;
const BOOLEANS = new Map([['on', true], ['yes', true], ['true', true], ['off', false], ['no', false], ['false', false]]);
const CACHE_MODES = ['writeback', 'none', 'writethrough', 'directsync', 'unsafe'];
const KEYS = new Set(['if', 'id', 'file', 'format', 'readonly', 'cache', 'media']);

/** Parses one -drive value; throws DriveOptionError with QEMU's words (without the `-drive TEXT: ` prefix). */
export function parseDriveOption(text: string): DriveConfig {
  const { props } = parseOptionList(text);
  const format = props.get('format');
  if (format !== undefined && format !== 'raw' && format !== 'qcow2') {
    throw new DriveOptionError(`Unknown driver '${format}' (mig has raw and qcow2)`);
  }
  for (const key of props.keys()) {
    if (!KEYS.has(key)) throw new DriveOptionError(`Block format '${format ?? 'raw'}' does not support the option '${key}'`);
  }
  const bus = props.get('if') ?? 'ide';
  if (bus !== 'none') {
    const where = bus === 'ide' ? 'if=ide,bus=0,unit=0' : `if=${bus}`;
    throw new DriveOptionError(`machine type does not support ${where} (mig-daemon models -machine none: use if=none)`);
  }
  checkCacheAndMedia(props.get('cache'), props.get('media'));
  const id = props.get('id');
  if (id === undefined) {
    throw new DriveOptionError("Parameter 'id' is missing (mig names each drive by its id; QEMU would call it 'none0')");
  }
  if (!IDENTIFIER.test(id)) {
    throw new DriveOptionError("Parameter 'id' expects an identifier\nIdentifiers consist of letters, digits, '-', '.', '_', starting with a letter.");
  }
  if (Buffer.byteLength(id) > MAX_ID_BYTES) {
    throw new DriveOptionError(`Parameter 'id' is longer than ${MAX_ID_BYTES} bytes (the block migration stream names a drive in at most 255)`);
  }
  const file = props.get('file');
  if (file === undefined || file === '') {
    throw new DriveOptionError('A block device must be specified for "file" (mig has no drives without a medium)');
  }
  const readonlyText = props.get('readonly') ?? 'off';
  const readOnly = BOOLEANS.get(readonlyText);
  if (readOnly === undefined) throw new DriveOptionError("Parameter 'read-only' expects 'on' or 'off'");
  const config: DriveConfig = { id, file, readOnly, option: text };
  if (format !== undefined) config.format = format;
  return config;
}

/** mig's images always go through the host page cache and a disk is a disk. */
function checkCacheAndMedia(cache: string | undefined, media: string | undefined): void {
  if (cache !== undefined && !CACHE_MODES.includes(cache)) throw new DriveOptionError('invalid cache option');
  if (cache !== undefined && cache !== 'writeback') {
    throw new DriveOptionError(`cache=${cache} is not supported by mig (its images use the host page cache: cache=writeback)`);
  }
  if (media !== undefined && media !== 'disk') {
    throw new DriveOptionError(`media=${media} is not supported by mig (only media=disk)`);
  }
}
