import { describe, expect, it } from 'vitest';
import { acceptCapabilities, connectOutcome, decodeCapabilities, encodeCapabilities, offerCapabilities } from './capabilities.js';

describe('RDMA capabilities in the private data', () => {
  it('are be32 version, be32 flags; the source offers version 1 and pin-all when asked', () => {
    expect(Buffer.from(encodeCapabilities(offerCapabilities(true))).toString('hex')).toBe('00000001' + '00000001');
    expect(Buffer.from(encodeCapabilities(offerCapabilities(false))).toString('hex')).toBe('00000001' + '00000000');
  });

  it('decode from the first 8 bytes of padded private data; fewer is an error', () => {
    const padded = new Uint8Array(56);
    padded.set([0, 0, 0, 1, 0, 0, 0, 1]);
    expect(decodeCapabilities(padded)).toEqual({ version: 1, flags: 1 });
    expect(() => decodeCapabilities(new Uint8Array(4))).toThrow("RDMA capabilities: the connection's private data has 4 bytes, fewer than 8");
  });

  it('the destination keeps only the flags it knows and refuses other versions', () => {
    expect(acceptCapabilities({ version: 1, flags: 0xff })).toEqual({ answer: { version: 1, flags: 1 }, pinAll: true });
    expect(acceptCapabilities({ version: 1, flags: 0xfe })).toEqual({ answer: { version: 1, flags: 0 }, pinAll: false });
    expect(() => acceptCapabilities({ version: 2, flags: 0 })).toThrow('RDMA capabilities: unknown source RDMA version 2 (this side speaks 1)');
    expect(() => acceptCapabilities({ version: 0, flags: 0 })).toThrow('unknown source RDMA version 0');
  });

  it('the source falls back to on-demand registration when pin-all is not granted', () => {
    expect(connectOutcome(true, { version: 1, flags: 1 })).toEqual({ pinAll: true });
    expect(connectOutcome(true, { version: 1, flags: 0 })).toEqual({
      pinAll: false, warning: 'Server cannot support pinning all memory. Will register memory dynamically.',
    });
    expect(connectOutcome(false, { version: 1, flags: 1 })).toEqual({ pinAll: false });
  });
});
