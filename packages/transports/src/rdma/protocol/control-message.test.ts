import { describe, expect, it } from 'vitest';
import { ControlType, CONTROL_MAX_BODY, controlTypeName } from './constants.js';
import { decodeControlMessage, encodeControlMessage } from './control-message.js';
import { RdmaProtocolError } from './errors.js';

const hex = (text: string): Uint8Array => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const errorOf = (fn: () => unknown): RdmaProtocolError => {
  try {
    fn();
  } catch (err) {
    if (err instanceof RdmaProtocolError) return err;
    throw err;
  }
  throw new Error('no error');
};

describe('control header', () => {
  it('is be32 len, type, repeat, padding, as QEMU lays it out', () => {
    // READY: len 0, type 2, repeat 1
    expect(Buffer.from(encodeControlMessage(ControlType.READY)).toString('hex')).toBe('00000000' + '00000002' + '00000001' + '00000000');
    // QEMU_FILE with 3 bytes of stream
    expect(Buffer.from(encodeControlMessage(ControlType.QEMU_FILE, hex('514556'))).toString('hex')).toBe(
      '00000003' + '00000003' + '00000001' + '00000000' + '514556',
    );
    // REGISTER_RESULT answering repeat 1 with one 16-byte result
    const result = encodeControlMessage(ControlType.REGISTER_RESULT, new Uint8Array(16), 1);
    expect(Buffer.from(result.subarray(0, 16)).toString('hex')).toBe('00000010' + '00000008' + '00000001' + '00000000');
  });

  it('decodes what QEMU sends, the body a view into the bytes', () => {
    const bytes = hex('00000005 00000003 00000001 00000000 0102030405');
    const message = decodeControlMessage(bytes, ControlType.QEMU_FILE);
    expect(message.type).toBe(ControlType.QEMU_FILE);
    expect(message.repeat).toBe(1);
    expect(Buffer.from(message.body).toString('hex')).toBe('0102030405');
    expect(message.body.buffer).toBe(bytes.buffer);
  });

  it('round-trips every type with a body of the right size', () => {
    const bodies: [number, number, number][] = [
      [ControlType.ERROR, 0, 1], [ControlType.READY, 0, 1], [ControlType.QEMU_FILE, 32768, 1],
      [ControlType.RAM_BLOCKS_REQUEST, 0, 1], [ControlType.RAM_BLOCKS_RESULT, 96, 1], [ControlType.COMPRESS, 24, 1],
      [ControlType.REGISTER_REQUEST, 48, 2], [ControlType.REGISTER_RESULT, 16, 1], [ControlType.REGISTER_FINISHED, 0, 1],
      [ControlType.UNREGISTER_REQUEST, 24, 1], [ControlType.UNREGISTER_FINISHED, 0, 1],
    ];
    for (const [type, size, repeat] of bodies) {
      const body = Uint8Array.from({ length: size }, (_, i) => i & 0xff);
      const decoded = decodeControlMessage(encodeControlMessage(type as never, body, repeat));
      expect([decoded.type, decoded.repeat, Buffer.compare(decoded.body, body)], controlTypeName(type)).toEqual([type, repeat, 0]);
    }
  });

  it('names the type', () => {
    expect(controlTypeName(7)).toBe('REGISTER_REQUEST');
    expect(controlTypeName(12)).toBe('unknown type 12');
  });
});

describe('malformed control messages', () => {
  it('shorter than the header', () => {
    const err = errorOf(() => decodeControlMessage(hex('0000000000000002')));
    expect(err.message).toBe('control message of 8 bytes is shorter than its 16-byte header');
    expect(err.offset).toBe(8);
  });

  it('an unknown type, or NONE, at byte 4', () => {
    expect(errorOf(() => decodeControlMessage(hex('00000000 0000000c 00000001 00000000'))).message).toBe('control message has unknown type 12 at byte 4');
    expect(errorOf(() => decodeControlMessage(hex('00000000 00000000 00000001 00000000'))).offset).toBe(4);
  });

  it('a length beyond the 512 KiB buffer, or not matching the bytes received', () => {
    const big = new Uint8Array(16);
    new DataView(big.buffer).setUint32(0, CONTROL_MAX_BODY + 1);
    new DataView(big.buffer).setUint32(4, ControlType.QEMU_FILE);
    expect(errorOf(() => decodeControlMessage(big)).message).toBe('QEMU_FILE: length 524273 at byte 0 is more than a control message holds (524272)');
    const err = errorOf(() => decodeControlMessage(hex('00000004 00000003 00000001 00000000 0102')));
    expect(err.message).toBe('QEMU_FILE: length 4 at byte 0 does not match the 18 bytes received (16 + length)');
    expect([err.record, err.offset]).toEqual(['QEMU_FILE', 0]);
  });

  it('a type other than the one expected; ERROR passes for the caller to report', () => {
    expect(errorOf(() => decodeControlMessage(encodeControlMessage(ControlType.QEMU_FILE, new Uint8Array(2)), ControlType.READY)).message).toBe(
      'expected a READY control message, got QEMU_FILE (length 2)',
    );
    expect(decodeControlMessage(encodeControlMessage(ControlType.ERROR), ControlType.READY).type).toBe(ControlType.ERROR);
  });

  it('a body that does not fit its type', () => {
    expect(errorOf(() => decodeControlMessage(encodeControlMessage(ControlType.READY, new Uint8Array(1)))).message).toBe(
      'READY: length 1 at byte 0, but this message has no body',
    );
    expect(errorOf(() => decodeControlMessage(encodeControlMessage(ControlType.COMPRESS, new Uint8Array(16)))).message).toBe(
      'COMPRESS: length 16 at byte 0, expected 24',
    );
    expect(errorOf(() => decodeControlMessage(encodeControlMessage(ControlType.REGISTER_REQUEST, new Uint8Array(24), 2))).message).toBe(
      'REGISTER_REQUEST: length 24 at byte 0 is not repeat 2 × 24',
    );
    expect(errorOf(() => decodeControlMessage(encodeControlMessage(ControlType.REGISTER_REQUEST, new Uint8Array(0), 0))).message).toBe(
      'REGISTER_REQUEST: repeat 0 at byte 8 is outside 1..4096',
    );
    expect(errorOf(() => decodeControlMessage(encodeControlMessage(ControlType.REGISTER_RESULT, new Uint8Array(8)))).message).toBe(
      'REGISTER_RESULT: length 8 at byte 0 is not a multiple of 16',
    );
    expect(errorOf(() => decodeControlMessage(encodeControlMessage(ControlType.RAM_BLOCKS_RESULT, new Uint8Array(33)))).message).toBe(
      'RAM_BLOCKS_RESULT: length 33 at byte 0 is not a multiple of 32',
    );
  });

  it('too many commands in one message', () => {
    const header = new Uint8Array(16);
    const view = new DataView(header.buffer);
    view.setUint32(0, 0);
    view.setUint32(4, ControlType.UNREGISTER_REQUEST);
    view.setUint32(8, 4097);
    expect(errorOf(() => decodeControlMessage(header)).message).toBe('UNREGISTER_REQUEST: repeat 4097 at byte 8 is outside 1..4096');
  });

  it('an encoder refuses a body larger than a message holds', () => {
    expect(() => encodeControlMessage(ControlType.QEMU_FILE, new Uint8Array(CONTROL_MAX_BODY + 1))).toThrow(
      'QEMU_FILE: a body of 524273 bytes is more than a control message holds (524272)',
    );
  });
});
