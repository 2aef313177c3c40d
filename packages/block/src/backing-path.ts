// Where a qcow2 image's backing file name points. QEMU resolves a relative name against the directory of
// the image that names it (not the process's working directory); absolute names are used as they are.
import { dirname, isAbsolute, join } from 'node:path';
import { DiskImageError } from './disk-image-error.js';

/** Matches "proto:" prefixes such as nbd:, json:, file: which QEMU treats as protocols, not paths. */
const PROTOCOL = /^[A-Za-z][A-Za-z0-9+.-]*:/;

export function resolveBackingPath(imagePath: string, backingName: string): string {
  if (isAbsolute(backingName)) return backingName;
  if (PROTOCOL.test(backingName)) {
    const why = `backing file "${backingName}" uses a protocol; only plain files are supported`;
    throw new DiskImageError(imagePath, why);
  }
  return join(dirname(imagePath), backingName);
}
