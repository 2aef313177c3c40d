// The first cluster of a new image: fixed header, extensions (backing format, feature names), backing name.
import { DiskImageError } from '../disk-image-error.js';
import {
  EXT_BACKING_FORMAT,
  EXT_END,
  EXT_FEATURE_NAMES,
  FEATURE_NAME_ENTRY_SIZE,
  KNOWN_FEATURE_NAMES,
  QCOW2_MAGIC,
  V2_HEADER_LENGTH,
  V3_HEADER_LENGTH,
} from './format.js';

export interface NewHeader {
  version: 2 | 3;
  clusterBits: number;
  size: number;
  l1Size: number;
  l1TableOffset: number;
  refcountTableOffset: number;
  refcountTableClusters: number;
  refcountOrder: number;
  backingFile: string | undefined;
  backingFormat: string | undefined;
}

export function encodeFirstCluster(h: NewHeader, image: string): Buffer {
  const cluster = Buffer.alloc(2 ** h.clusterBits);
  const headerLength = h.version === 3 ? V3_HEADER_LENGTH : V2_HEADER_LENGTH;
  const name = h.backingFile === undefined ? undefined : Buffer.from(h.backingFile, 'utf8');
  const format = h.backingFormat === undefined ? undefined : Buffer.from(h.backingFormat, 'utf8');
  const extensions: Array<[number, Buffer]> = [];
  if (format !== undefined) extensions.push([EXT_BACKING_FORMAT, format]);
  const features = featureNameTable();
  const used = (list: Array<[number, Buffer]>): number =>
    headerLength + list.reduce((n, [, d]) => n + 8 + Math.ceil(d.length / 8) * 8, 0) + 8 + (name?.length ?? 0);
  // Feature names are optional; like QEMU, leave them out when they do not fit (small clusters).
  if (h.version === 3 && used([...extensions, [EXT_FEATURE_NAMES, features]]) <= cluster.length) {
    extensions.push([EXT_FEATURE_NAMES, features]);
  }
  if (used(extensions) > cluster.length) {
    throw new DiskImageError(image, `header and backing file name do not fit one ${cluster.length}-byte cluster`);
  }
  writeFixedHeader(cluster, h, headerLength);
  let at = headerLength;
  for (const [type, data] of extensions) {
    cluster.writeUInt32BE(type, at);
    cluster.writeUInt32BE(data.length, at + 4);
    data.copy(cluster, at + 8);
    at += 8 + Math.ceil(data.length / 8) * 8;
  }
  cluster.writeUInt32BE(EXT_END, at);
  at += 8;
  if (name !== undefined) {
    name.copy(cluster, at);
    cluster.writeBigUInt64BE(BigInt(at), 8);
    cluster.writeUInt32BE(name.length, 16);
  }
  return cluster;
}

function writeFixedHeader(c: Buffer, h: NewHeader, headerLength: number): void {
  c.writeUInt32BE(QCOW2_MAGIC, 0);
  c.writeUInt32BE(h.version, 4);
  c.writeUInt32BE(h.clusterBits, 20);
  c.writeBigUInt64BE(BigInt(h.size), 24);
  c.writeUInt32BE(h.l1Size, 36);
  c.writeBigUInt64BE(BigInt(h.l1TableOffset), 40);
  c.writeBigUInt64BE(BigInt(h.refcountTableOffset), 48);
  c.writeUInt32BE(h.refcountTableClusters, 56);
  if (h.version === 2) return;
  c.writeUInt32BE(h.refcountOrder, 96);
  c.writeUInt32BE(headerLength, 100);
}

function featureNameTable(): Buffer {
  const table = Buffer.alloc(KNOWN_FEATURE_NAMES.length * FEATURE_NAME_ENTRY_SIZE);
  KNOWN_FEATURE_NAMES.forEach(([type, bit, name], i) => {
    table[i * FEATURE_NAME_ENTRY_SIZE] = type;
    table[i * FEATURE_NAME_ENTRY_SIZE + 1] = bit;
    table.write(name, i * FEATURE_NAME_ENTRY_SIZE + 2, 'latin1');
  });
  return table;
}
