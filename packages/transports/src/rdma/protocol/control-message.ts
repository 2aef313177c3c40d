import {
  COMPRESS_BYTES, CONTROL_HEADER_BYTES, CONTROL_MAX_BODY, CONTROL_MAX_COMMANDS, ControlType, DEST_BLOCK_BYTES,
  REGISTER_BYTES, REGISTER_RESULT_BYTES, controlTypeName, isControlType, type ControlTypeValue,
} from './constants.js';
import { RdmaProtocolError } from './errors.js';
import { viewOf, writeU32 } from './wire.js';

/**
 * A control message: the 16-byte header (be32 len, type, repeat, padding) and its body. Decoding checks
 * what QEMU's receiver checks (the length fits the buffer and matches the bytes received, the type is the
 * one expected) and more: a body whose size does not fit its type is refused, naming the message and offset.
 */
export interface ControlMessage {
  type: ControlTypeValue;
  repeat: number;
  /** The body, a view into the received bytes (not a copy). */
  body: Uint8Array;
}

/** Types whose body is empty. */
const EMPTY_BODY = new Set<number>([
  ControlType.ERROR, ControlType.READY, ControlType.RAM_BLOCKS_REQUEST, ControlType.REGISTER_FINISHED,
  ControlType.UNREGISTER_FINISHED,
]);

/** Writes a header at `offset` of `target`. */
export function writeControlHeader(target: Uint8Array, offset: number, type: ControlTypeValue, len: number, repeat: number): void {
  if (len > CONTROL_MAX_BODY) {
    throw new RangeError(`${controlTypeName(type)}: a body of ${len} bytes is more than a control message holds (${CONTROL_MAX_BODY})`);
  }
  const view = new DataView(target.buffer, target.byteOffset + offset, CONTROL_HEADER_BYTES);
  writeU32(view, 0, len, 'len');
  writeU32(view, 4, type, 'type');
  writeU32(view, 8, repeat, 'repeat');
  view.setUint32(12, 0);
}

/** A whole message in a new buffer: header then body. */
export function encodeControlMessage(type: ControlTypeValue, body: Uint8Array = new Uint8Array(0), repeat = 1): Uint8Array {
  const out = new Uint8Array(CONTROL_HEADER_BYTES + body.byteLength);
  writeControlHeader(out, 0, type, body.byteLength, repeat);
  out.set(body, CONTROL_HEADER_BYTES);
  return out;
}

/**
 * Decodes a received message (exactly the bytes the completion reported). With `expected`, any other type
 * is an error (NONE takes any type); ERROR is returned as it is, for the caller to report the peer's failure.
 */
export function decodeControlMessage(bytes: Uint8Array, expected: ControlTypeValue = ControlType.NONE): ControlMessage {
  if (bytes.byteLength < CONTROL_HEADER_BYTES) {
    throw new RdmaProtocolError(
      `control message of ${bytes.byteLength} bytes is shorter than its ${CONTROL_HEADER_BYTES}-byte header`, 'control header', bytes.byteLength,
    );
  }
  const view = viewOf(bytes);
  const len = view.getUint32(0);
  const type = view.getUint32(4);
  const repeat = view.getUint32(8);
  if (!isControlType(type) || type === ControlType.NONE) {
    throw new RdmaProtocolError(`control message has ${controlTypeName(type)} at byte 4`, 'control header', 4);
  }
  const name = controlTypeName(type);
  if (len > CONTROL_MAX_BODY) {
    throw new RdmaProtocolError(`${name}: length ${len} at byte 0 is more than a control message holds (${CONTROL_MAX_BODY})`, name, 0);
  }
  if (CONTROL_HEADER_BYTES + len !== bytes.byteLength) {
    throw new RdmaProtocolError(`${name}: length ${len} at byte 0 does not match the ${bytes.byteLength} bytes received (16 + length)`, name, 0);
  }
  if (type !== ControlType.ERROR && expected !== ControlType.NONE && type !== expected) {
    throw new RdmaProtocolError(`expected a ${controlTypeName(expected)} control message, got ${name} (length ${len})`, name, 4);
  }
  checkBodySize(type, len, repeat);
  return { type, repeat, body: bytes.subarray(CONTROL_HEADER_BYTES) };
}

function checkBodySize(type: ControlTypeValue, len: number, repeat: number): void {
  const name = controlTypeName(type);
  if (EMPTY_BODY.has(type) && len !== 0) {
    throw new RdmaProtocolError(`${name}: length ${len} at byte 0, but this message has no body`, name, 0);
  }
  switch (type) {
    case ControlType.COMPRESS:
      if (len !== COMPRESS_BYTES) throw new RdmaProtocolError(`${name}: length ${len} at byte 0, expected ${COMPRESS_BYTES}`, name, 0);
      return;
    case ControlType.REGISTER_REQUEST:
    case ControlType.UNREGISTER_REQUEST:
      if (repeat === 0 || repeat > CONTROL_MAX_COMMANDS) {
        throw new RdmaProtocolError(`${name}: repeat ${repeat} at byte 8 is outside 1..${CONTROL_MAX_COMMANDS}`, name, 8);
      }
      if (len !== repeat * REGISTER_BYTES) {
        throw new RdmaProtocolError(`${name}: length ${len} at byte 0 is not repeat ${repeat} × ${REGISTER_BYTES}`, name, 0);
      }
      return;
    case ControlType.REGISTER_RESULT:
      // QEMU answers `repeat` requests with a length of one result: only whole results count
      if (len === 0 || len % REGISTER_RESULT_BYTES !== 0) {
        throw new RdmaProtocolError(`${name}: length ${len} at byte 0 is not a multiple of ${REGISTER_RESULT_BYTES}`, name, 0);
      }
      return;
    case ControlType.RAM_BLOCKS_RESULT:
      if (len % DEST_BLOCK_BYTES !== 0) {
        throw new RdmaProtocolError(`${name}: length ${len} at byte 0 is not a multiple of ${DEST_BLOCK_BYTES}`, name, 0);
      }
      return;
    default:
  }
}
