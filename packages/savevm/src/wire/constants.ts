/** Facts of QEMU 7.2's savevm framing (migration/savevm.c). All big-endian. */

export const QEMU_VM_FILE_MAGIC = 0x5145564d; // 'QEVM'
export const QEMU_VM_FILE_VERSION = 3;
/** The obsolete version QEMU names specially when refusing it. */
export const QEMU_VM_FILE_VERSION_COMPAT = 2;

/** Record types of the savevm framing. */
export const SectionType = {
  EOF: 0x00,
  START: 0x01,
  PART: 0x02,
  END: 0x03,
  FULL: 0x04,
  SUBSECTION: 0x05,
  VMDESCRIPTION: 0x06,
  CONFIGURATION: 0x07,
  COMMAND: 0x08,
  FOOTER: 0x7e,
} as const;
export type SectionType = (typeof SectionType)[keyof typeof SectionType];

/** Sane bounds on lengths read from a stream. */
export const MAX_MACHINE_NAME = 256;
export const MAX_VMDESC = 1 << 20;

/** QEMU 7.2's RunState names (qapi/run-state.json): the values globalstate may carry. */
export const RUN_STATES: ReadonlySet<string> = new Set([
  'debug',
  'inmigrate',
  'internal-error',
  'io-error',
  'paused',
  'postmigrate',
  'prelaunch',
  'finish-migrate',
  'restore-vm',
  'running',
  'save-vm',
  'shutdown',
  'suspended',
  'watchdog',
  'guest-panicked',
  'colo',
]);
