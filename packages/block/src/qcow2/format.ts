// Numbers fixed by the qcow2 format (QEMU's docs/interop/qcow2.txt).

export const QCOW2_MAGIC = 0x514649fb; // "QFI\xfb"
export const V2_HEADER_LENGTH = 72;
export const V3_MIN_HEADER_LENGTH = 104;
/** What QEMU writes for v3: the 104 bytes plus compression_type and padding to a multiple of 8. */
export const V3_HEADER_LENGTH = 112;
export const MIN_CLUSTER_BITS = 9;
/** QEMU's implementation limit (2 MiB clusters). */
export const MAX_CLUSTER_BITS = 21;
export const MAX_REFCOUNT_ORDER = 6;
export const MAX_BACKING_FILE_NAME = 1023;

export const EXT_END = 0x00000000;
export const EXT_BACKING_FORMAT = 0xe2792aca;
export const EXT_FEATURE_NAMES = 0x6803f857;
export const EXT_BITMAPS = 0x23852875;
export const EXT_FULL_DISK_ENCRYPTION = 0x0537be77;
export const EXT_DATA_FILE = 0x44415441;

export const INCOMPAT_DIRTY = 0;
export const INCOMPAT_CORRUPT = 1;
export const INCOMPAT_DATA_FILE = 2;
export const INCOMPAT_COMPRESSION_TYPE = 3;
export const INCOMPAT_EXTENDED_L2 = 4;
export const COMPAT_LAZY_REFCOUNTS = 0;
export const AUTOCLEAR_BITMAPS = 0;
export const AUTOCLEAR_RAW_DATA = 1;

export const FEATURE_TYPE_INCOMPATIBLE = 0;
export const FEATURE_TYPE_COMPATIBLE = 1;
export const FEATURE_TYPE_AUTOCLEAR = 2;
export const FEATURE_NAME_ENTRY_SIZE = 48;
export const FEATURE_NAME_MAX = 46;

/** Header field offsets we rewrite in place. */
export const HEADER_REFCOUNT_TABLE_OFFSET = 48; // u64 offset, then u32 clusters at 56
export const HEADER_INCOMPATIBLE_FEATURES = 72;
export const HEADER_AUTOCLEAR_FEATURES = 88;

/** The names QEMU puts in the feature name table of the images it creates. */
export const KNOWN_FEATURE_NAMES: ReadonlyArray<readonly [type: number, bit: number, name: string]> = [
  [FEATURE_TYPE_INCOMPATIBLE, INCOMPAT_DIRTY, 'dirty bit'],
  [FEATURE_TYPE_INCOMPATIBLE, INCOMPAT_CORRUPT, 'corrupt bit'],
  [FEATURE_TYPE_INCOMPATIBLE, INCOMPAT_DATA_FILE, 'external data file'],
  [FEATURE_TYPE_INCOMPATIBLE, INCOMPAT_COMPRESSION_TYPE, 'compression type'],
  [FEATURE_TYPE_INCOMPATIBLE, INCOMPAT_EXTENDED_L2, 'extended L2 entries'],
  [FEATURE_TYPE_COMPATIBLE, COMPAT_LAZY_REFCOUNTS, 'lazy refcounts'],
  [FEATURE_TYPE_AUTOCLEAR, AUTOCLEAR_BITMAPS, 'bitmaps'],
  [FEATURE_TYPE_AUTOCLEAR, AUTOCLEAR_RAW_DATA, 'raw external data'],
];

/** L1/L2 entry bits, split into the high and low 32-bit halves of the big-endian u64 (no BigInt per entry). */
export const HI_COPIED = 0x80000000; // bit 63: refcount is exactly one
export const HI_COMPRESSED = 0x40000000; // bit 62 (L2 only)
export const HI_L2_RESERVED = 0x3f000000; // bits 56-61
export const HI_L1_RESERVED = 0x7f000000; // bits 56-62
export const HI_OFFSET_MASK = 0x00ffffff; // bits 32-55 of the host offset
export const LO_ZERO = 0x1; // bit 0: reads as zeros (v3)
export const LO_RESERVED = 0x1fe; // bits 1-8
export const LO_OFFSET_MASK = 0xfffffe00; // bits 9-31 of the host offset
/** Host offsets above 2^53 do not fit a JS number; the high half must stay below 2^21. */
export const HI_SAFE_LIMIT = 1 << 21;
