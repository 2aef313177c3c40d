import { describe, expect, it } from 'vitest';
import { CorruptImageError, DiskImageError } from '../disk-image-error.js';
import { checkQcow2Supported } from './feature-check.js';
import { EXT_BACKING_FORMAT, V3_HEADER_LENGTH } from './format.js';
import { encodeFirstCluster, type NewHeader } from './header-encode.js';
import { backingFileName, parseExtensions } from './header-extensions.js';
import { parseQcow2Header } from './header.js';

const BASE: NewHeader = {
  version: 3,
  clusterBits: 16,
  size: 1 << 30,
  l1Size: 2,
  l1TableOffset: 3 << 16,
  refcountTableOffset: 1 << 16,
  refcountTableClusters: 1,
  refcountOrder: 4,
  backingFile: 'base.raw',
  backingFormat: 'raw',
};

describe('qcow2 header', () => {
  it('round-trips what createQcow2 writes, extensions and backing name included', () => {
    const cluster = encodeFirstCluster(BASE, 'x.qcow2');
    const h = parseQcow2Header(cluster, 'x.qcow2');
    expect(h).toMatchObject({ version: 3, clusterBits: 16, size: 1 << 30, l1Size: 2, headerLength: V3_HEADER_LENGTH });
    expect(h).toMatchObject({ refcountTableOffset: 1 << 16, refcountTableClusters: 1, refcountOrder: 4, cryptMethod: 0 });
    const ext = parseExtensions(cluster, h, 'x.qcow2');
    expect(ext.backingFormat).toBe('raw');
    expect(ext.featureNames).toContainEqual({ type: 0, bit: 4, name: 'extended L2 entries' });
    expect(backingFileName(cluster, h, 'x.qcow2')).toBe('base.raw');
    expect(() => checkQcow2Supported(h, ext, 'x.qcow2', false)).not.toThrow();
  });

  it('treats v2 as 16-bit refcounts with a 72-byte header, and leaves feature names out of small clusters', () => {
    const v2 = parseQcow2Header(encodeFirstCluster({ ...BASE, version: 2 }, 'v2'), 'v2');
    expect(v2).toMatchObject({ version: 2, headerLength: 72, refcountOrder: 4, incompatibleFeatures: 0n });
    const small = encodeFirstCluster({ ...BASE, clusterBits: 9, l1Size: 32768 }, 's');
    const h = parseQcow2Header(small, 's');
    expect(parseExtensions(small, h, 's').featureNames).toEqual([]);
    expect(backingFileName(small, h, 's')).toBe('base.raw');
  });

  it('stops at the backing name when an old image has no end-of-extensions marker', () => {
    const c = Buffer.alloc(512);
    c.write('QFI\xfb', 0, 'latin1');
    c.writeUInt32BE(2, 4);
    c.writeBigUInt64BE(72n, 8); // the name right after the v2 header
    c.writeUInt32BE(8, 16);
    c.writeUInt32BE(9, 20);
    c.write('base.img', 72);
    const h = parseQcow2Header(c, 'old');
    expect(parseExtensions(c, h, 'old')).toMatchObject({ backingFormat: undefined, featureNames: [] });
    expect(backingFileName(c, h, 'old')).toBe('base.img');
  });

  it('names the image and the problem in parse errors', () => {
    expect(() => parseQcow2Header(Buffer.alloc(100), 'a.img')).toThrow('a.img: not a qcow2 image (bad magic)');
    expect(() => parseQcow2Header(Buffer.alloc(10), 'a.img')).toThrow(/file too short/);
    const badLen = encodeFirstCluster(BASE, 'b');
    badLen.writeUInt32BE(100, 100);
    expect(() => parseQcow2Header(badLen, 'b')).toThrow(/header_length 100 is invalid/);
    const overrun = encodeFirstCluster({ ...BASE, backingFile: undefined }, 'c');
    overrun.writeUInt32BE(EXT_BACKING_FORMAT, V3_HEADER_LENGTH);
    overrun.writeUInt32BE(1 << 20, V3_HEADER_LENGTH + 4);
    const h = parseQcow2Header(overrun, 'c');
    expect(() => parseExtensions(overrun, h, 'c')).toThrow(CorruptImageError);
    const huge = encodeFirstCluster(BASE, 'd');
    huge.writeUInt32BE(0xffffffff, 24);
    expect(() => parseQcow2Header(huge, 'd')).toThrow(/header size \d+ is too large/);
    expect(() => encodeFirstCluster({ ...BASE, clusterBits: 9, backingFile: 'x'.repeat(500) }, 'e')).toThrow(DiskImageError);
  });
});
