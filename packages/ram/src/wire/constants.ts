/** Facts of QEMU 7.2's `ram` section (migration/ram.c). All big-endian. */

/** Where QEMU 7.2 registers it with `-machine none`: section id 2, after `timer` (0) and `block` (1). */
export const RAM_SECTION = { idstr: 'ram', instanceId: 0, version: 4, sectionId: 2 } as const;

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
  /** RDMA hook (be64 0x80, no address): read only with a RAM control hook (RamLoaderOptions.control). */
  HOOK: 0x80,
  /** Compressed page (compress capability); not supported. */
  COMPRESS_PAGE: 0x100,
} as const;
export type RamFlag = (typeof RamFlag)[keyof typeof RamFlag];

/** The low bits of a ram record that hold flags: offsets are page aligned (TARGET_PAGE_BITS 12). */
export const RAM_FLAGS_MASK = 0xfff;
/** Flags this codec understands without a RAM control hook. */
export const RAM_KNOWN_FLAGS =
  RamFlag.ZERO | RamFlag.MEM_SIZE | RamFlag.PAGE | RamFlag.EOS | RamFlag.CONTINUE | RamFlag.XBZRLE;

/** XBZRLE record header byte (ENCODING_FLAG_XBZRLE). */
export const XBZRLE_ENCODING_FLAG = 0x01;
