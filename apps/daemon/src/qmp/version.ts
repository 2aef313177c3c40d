// query-version, and the version the QMP greeting announces: QEMU 7.2's, so harnesses treat mig as 7.2.
import type { QmpHandlers } from '@mig/qmp';

export const VERSION = { qemu: { major: 7, minor: 2, micro: 0 }, package: 'mig 0.1.0' };

export function versionHandlers(): Pick<QmpHandlers, 'query-version'> {
  return { 'query-version': () => VERSION };
}
