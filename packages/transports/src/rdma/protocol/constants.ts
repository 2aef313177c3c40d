/**
 * The numbers of QEMU 7.2's RDMA migration protocol (migration/rdma.c); docs/qemu-rdma-migration.md has
 * what each means. Every multi-byte field on the wire is big-endian.
 */

/** Control message types (the header's `type`). */
export const ControlType = {
  NONE: 0,
  ERROR: 1,
  READY: 2,
  QEMU_FILE: 3,
  RAM_BLOCKS_REQUEST: 4,
  RAM_BLOCKS_RESULT: 5,
  COMPRESS: 6,
  REGISTER_REQUEST: 7,
  REGISTER_RESULT: 8,
  REGISTER_FINISHED: 9,
  UNREGISTER_REQUEST: 10,
  UNREGISTER_FINISHED: 11,
} as const;

export type ControlTypeValue = (typeof ControlType)[keyof typeof ControlType];

const TYPE_NAMES: readonly string[] = [
  'NONE', 'ERROR', 'READY', 'QEMU_FILE', 'RAM_BLOCKS_REQUEST', 'RAM_BLOCKS_RESULT', 'COMPRESS',
  'REGISTER_REQUEST', 'REGISTER_RESULT', 'REGISTER_FINISHED', 'UNREGISTER_REQUEST', 'UNREGISTER_FINISHED',
];

/** "REGISTER_REQUEST", or "unknown type 42" for a value outside the protocol. */
export function controlTypeName(type: number): string {
  return TYPE_NAMES[type] ?? `unknown type ${type}`;
}

export function isControlType(type: number): type is ControlTypeValue {
  return Number.isInteger(type) && type >= ControlType.NONE && type <= ControlType.UNREGISTER_FINISHED;
}

/** len, type, repeat, padding: four be32. */
export const CONTROL_HEADER_BYTES = 16;
/** One receive buffer; a message (header included) never exceeds it. */
export const CONTROL_MAX_BUFFER = 512 * 1024;
export const CONTROL_MAX_BODY = CONTROL_MAX_BUFFER - CONTROL_HEADER_BYTES;
/** The most commands one REGISTER/UNREGISTER message may carry. */
export const CONTROL_MAX_COMMANDS = 4096;
/** The migration stream goes in QEMU_FILE messages of at most this many bytes. */
export const QEMU_FILE_MAX_BYTES = 32768;

export const DEST_BLOCK_BYTES = 32;
export const REGISTER_BYTES = 24;
export const COMPRESS_BYTES = 24;
export const REGISTER_RESULT_BYTES = 16;
export const CAPABILITIES_BYTES = 8;

export const CONTROL_VERSION = 1;
export const CAPABILITY_PIN_ALL = 0x01;
/** Every capability flag this implementation knows (the destination masks the source's flags with it). */
export const KNOWN_CAPABILITIES = CAPABILITY_PIN_ALL;

/** Registration is per 1 MiB chunk of a RAM block. */
export const CHUNK_SHIFT = 20;
export const CHUNK_BYTES = 1 << CHUNK_SHIFT;
/** A merged span is flushed (written) once it reaches this size. */
export const MERGE_MAX = 2 * 1024 * 1024;
/** The send queue's depth: RDMA WRITEs in flight at most, and QEMU's QP max_send_wr. */
export const SIGNALED_SEND_MAX = MERGE_MAX / 4096;

/** The RAM stream record (be64, no address) that starts each iteration's registration. */
export const RAM_SAVE_FLAG_HOOK = 0x80;
