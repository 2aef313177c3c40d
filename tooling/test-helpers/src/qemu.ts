// Is QEMU 7.2 here? Interop tests skip locally without it and fail in CI.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export const QEMU_BINARY = 'qemu-system-x86_64';
export const QEMU_SKIP_MESSAGE = 'QEMU 7.2 not installed: apt-get install qemu-system-x86 qemu-utils';

/** Absolute path of qemu-system-x86_64 found on PATH, or undefined. */
export function findQemu(env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, QEMU_BINARY);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

export class QemuMissingError extends Error {
  constructor() {
    super(`${QEMU_SKIP_MESSAGE} (CI is set: interop tests never skip in CI)`);
    this.name = 'QemuMissingError';
  }
}

/**
 * Whether qemu-system-x86_64 is present. Use as `describe.skipIf(!requireQemu())`.
 * When CI is set and QEMU is missing this throws instead: interop tests never skip in CI.
 */
export function requireQemu(env: NodeJS.ProcessEnv = process.env): boolean {
  const found = findQemu(env) !== undefined;
  if (!found && isCi(env)) throw new QemuMissingError();
  if (!found) console.warn(`skipping: ${QEMU_SKIP_MESSAGE}`);
  return found;
}

/** CI is set to something other than '', '0' or 'false'. */
export function isCi(env: NodeJS.ProcessEnv): boolean {
  const v = env.CI;
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}
