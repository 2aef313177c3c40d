// Opens a -drive's image as QEMU 7.2 does at start-up, with its texts for a file that is missing, not a regular
// file, not writable, or not in the format given; without format= the format is probed, with QEMU's warning
// for raw.
import { constants } from 'node:fs';
import { access, open, stat } from 'node:fs/promises';
import { detectFormat, openDiskImage, type DiskImage } from '@mig/block';
import type { DriveConfig } from '../cli/drive-option.js';

/** A drive that could not be opened; the message is `-drive OPTION: why`, as QEMU prints it. */
export class DriveOpenError extends Error {
  override name = 'DriveOpenError';
  constructor(
    readonly drive: string,
    option: string,
    why: string,
  ) {
    super(`-drive ${option}: ${why}`);
  }
}

const STRERROR: Record<string, string> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
  EROFS: 'Read-only file system',
  ELOOP: 'Too many levels of symbolic links',
  ENAMETOOLONG: 'File name too long',
};

function strerror(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  return (code !== undefined ? STRERROR[code] : undefined) ?? code ?? (err as Error).message;
}

const RAW_PROBE_WARNING = (file: string): string =>
  `WARNING: Image format was not specified for '${file}' and probing guessed raw.\n` +
  '         Automatically detecting the format is dangerous for raw images, write operations on block 0 will be restricted.\n' +
  "         Specify the 'raw' format explicitly to remove the restrictions.";

/** Opens `config`'s image (read-only per readonly=), or throws DriveOpenError. `warn` gets the raw-probe warning. */
export async function openDriveImage(config: DriveConfig, warn: (message: string) => void): Promise<DiskImage> {
  const { file, option } = config;
  const fail = (why: string): never => {
    throw new DriveOpenError(config.id, option, why);
  };
  const st = await stat(file).catch((err: unknown) => fail(`Could not open '${file}': ${strerror(err)}`));
  if (!st.isFile()) fail(`'file' driver requires '${file}' to be a regular file`);
  const mode = config.readOnly ? constants.R_OK : constants.R_OK | constants.W_OK;
  await access(file, mode).catch((err: unknown) => fail(`Could not open '${file}': ${strerror(err)}`));
  const probed = await probeFormat(file).catch((err: unknown) => fail(`Could not open '${file}': ${strerror(err)}`));
  if (config.format === 'qcow2' && probed !== 'qcow2') fail('Image is not in qcow2 format');
  if (config.format === undefined && probed === 'raw') warn(RAW_PROBE_WARNING(file));
  try {
    return await openDiskImage(file, { format: config.format ?? probed, readOnly: config.readOnly });
  } catch (err) {
    return fail((err as Error).message);
  }
}

async function probeFormat(file: string): Promise<'raw' | 'qcow2'> {
  const fh = await open(file, 'r');
  try {
    return await detectFormat(fh);
  } finally {
    await fh.close();
  }
}
