import { describe, expect, it } from 'vitest';
import {
  decodeCompress, decodeDestBlocks, decodeRegisterCommands, decodeRegisterResults, encodeCompress, encodeDestBlocks,
  encodeRegisterCommands, encodeRegisterResults,
} from './control-bodies.js';

const hexOf = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const hex = (text: string): Uint8Array => Buffer.from(text.replace(/\s+/g, ''), 'hex');

describe('RDMADestBlock (32 bytes)', () => {
  const block = { remoteHostAddr: 0x7f12_3456_7000, offset: 0x1_0000_0000, length: 0x800_0000, remoteRkey: 0xabcd1234 };
  // be64 remote_host_addr, be64 offset, be64 length, be32 remote_rkey, be32 padding
  const bytes = '00007f1234567000' + '0000000100000000' + '0000000008000000' + 'abcd1234' + '00000000';

  it('has QEMU layout and round-trips', () => {
    expect(hexOf(encodeDestBlocks([block]))).toBe(bytes);
    expect(decodeDestBlocks(hex(bytes + bytes))).toEqual([block, block]);
  });

  it('refuses a 64-bit field past 2^53, naming it and its offset in the message', () => {
    expect(() => decodeDestBlocks(hex('0020000000000000' + '00'.repeat(24)))).toThrow(
      'RAM_BLOCKS_RESULT: remote_host_addr 0x0020000000000000 at byte 16 is beyond 2^53',
    );
    expect(() => decodeDestBlocks(hex(bytes + '00'.repeat(16) + 'ffffffffffffffff' + '00'.repeat(8)))).toThrow(
      'RAM_BLOCKS_RESULT: length 0xffffffffffffffff at byte 64 is beyond 2^53',
    );
  });
});

describe('RDMARegister (24 bytes)', () => {
  it('has QEMU layout: be64 key, be32 current_index, be32 padding, be64 chunks', () => {
    const command = { key: 0x1_0030_0000, blockIndex: 2, chunks: 1 };
    const bytes = '0000000100300000' + '00000002' + '00000000' + '0000000000000001';
    expect(hexOf(encodeRegisterCommands([command]))).toBe(bytes);
    expect(decodeRegisterCommands(hex(bytes))).toEqual([command]);
  });

  it('names the message it decodes', () => {
    expect(() => decodeRegisterCommands(hex('ff'.repeat(24)), 'UNREGISTER_REQUEST')).toThrow('UNREGISTER_REQUEST: key 0xffffffffffffffff at byte 16');
  });
});

describe('RDMACompress (24 bytes)', () => {
  it('has QEMU layout: be32 value, be32 block_idx, be64 offset, be64 length', () => {
    const command = { value: 0, blockIndex: 1, offset: 0x20_0000, length: 0x10_0000 };
    const bytes = '00000000' + '00000001' + '0000000000200000' + '0000000000100000';
    expect(hexOf(encodeCompress(command))).toBe(bytes);
    expect(decodeCompress(hex(bytes))).toEqual(command);
  });
});

describe('RDMARegisterResult (16 bytes)', () => {
  it('has QEMU layout: be32 rkey, be32 padding, be64 host_addr', () => {
    const result = { rkey: 0x1234, hostAddr: 0x7f00_0000_0000 };
    const bytes = '00001234' + '00000000' + '00007f0000000000';
    expect(hexOf(encodeRegisterResults([result]))).toBe(bytes);
    expect(decodeRegisterResults(hex(bytes))).toEqual([result]);
  });

  it('encoders refuse values that do not fit', () => {
    expect(() => encodeRegisterResults([{ rkey: 2 ** 32, hostAddr: 0 }])).toThrow('rkey must be a u32, got 4294967296');
    expect(() => encodeCompress({ value: 0, blockIndex: 0, offset: -1, length: 0 })).toThrow('offset must be an integer in 0..2^53, got -1');
  });
});
