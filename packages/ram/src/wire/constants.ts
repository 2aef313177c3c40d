/** Facts of QEMU 7.2's migration stream (migration/savevm.c, migration/ram.c). All big-endian. */

export const QEMU_VM_FILE_MAGIC = 0x5145564d; // 'QEVM'
export const QEMU_VM_FILE_VERSION = 3;
/** The obsolete version QEMU names specially when refusing it. */
export const QEMU_VM_FILE_VERSION_COMPAT = 2;

/** Section (record) types of the savevm framing. */
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

/** Flags in the low bits of each `ram` record's be64 (offset | flags). */
export const RamFlag = {
  /** Obsolete (was FULL); QEMU 7.2 rejects it. */
  FULL: 0x01,
  ZERO: 0x02,
  MEM_SIZE: 0x04,
  PAGE: 0x08,
  EOS: 0x10,
  CONTINUE: 0x20,
  XBZRLE: 0x40,
  /** RDMA hook; not supported. */
  HOOK: 0x80,
  /** Compressed page (compress capability); not supported. */
  COMPRESS_PAGE: 0x100,
} as const;
export type RamFlag = (typeof RamFlag)[keyof typeof RamFlag];

/** The low bits of a ram record that hold flags: offsets are page aligned (TARGET_PAGE_BITS 12). */
export const RAM_FLAGS_MASK = 0xfff;
/** Flags this codec understands. */
export const RAM_KNOWN_FLAGS =
  RamFlag.ZERO | RamFlag.MEM_SIZE | RamFlag.PAGE | RamFlag.EOS | RamFlag.CONTINUE | RamFlag.XBZRLE;

/** XBZRLE record header byte (ENCODING_FLAG_XBZRLE). */
export const XBZRLE_ENCODING_FLAG = 0x01;

/** Section registrations of QEMU 7.2 with `-machine none`. */
export const RAM_SECTION = { idstr: 'ram', instanceId: 0, version: 4, sectionId: 2 } as const;
export const TIMER_SECTION = { idstr: 'timer', instanceId: 0, version: 2, sectionId: 0 } as const;
export const GLOBALSTATE_SECTION = { idstr: 'globalstate', instanceId: 0, version: 1, sectionId: 4 } as const;

/** timer v2: be64 cpu_ticks_offset, 8 unused bytes, be64 cpu_clock_offset. */
export const TIMER_BODY_SIZE = 24;
/** globalstate v1: be32 size, 100-byte runstate buffer. */
export const GLOBALSTATE_RUNSTATE_SIZE = 100;
export const GLOBALSTATE_BODY_SIZE = 4 + GLOBALSTATE_RUNSTATE_SIZE;

/** Sane bounds on lengths read from a stream. */
export const MAX_MACHINE_NAME = 256;
export const MAX_VMDESC = 1 << 20;

/** QEMU 7.2's RunState names (qapi/run-state.json), the values globalstate may carry. */
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
