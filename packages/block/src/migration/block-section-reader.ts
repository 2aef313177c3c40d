import { be32, hex, printable, type LoadContext, type LoadSection, type SectionRecordKind } from '@mig/savevm';
import { BLOCK_FLAGS_MASK, BLOCK_SECTION, BlockFlag, CHUNK_SIZE, SECTOR_SIZE } from './constants.js';

/** A target drive as the record parser sees it. */
export interface BlockDeviceShape {
  readonly name: string;
  readonly size: number;
  readonly readOnly: boolean;
}

/**
 * What the block section's records say, one callback per record. Buffers are only valid during the call.
 */
export interface BlockVisitor {
  /**
   * A chunk of target device `device` at byte `offset`: `len` bytes (the chunk, cut at the device's end) of
   * data at `buf[at..]`, or `buf` null for a zero chunk.
   */
  onChunk(device: number, offset: number, len: number, buf: Uint8Array | null, at: number): void;
  /**
   * The last chunk of a drive carried `bytes` non-zero bytes past its end: data of a larger source drive, or
   * a QEMU source's uninitialised padding.
   */
  onPaddingData?(device: number, offset: number, bytes: number): void;
  /** PROGRESS: how far the source's bulk phase is, percent. */
  onProgress?(percent: number): void;
  onEos?(): void;
  /** Deferred writes: see LoadSection.backpressure / flush. */
  backpressure?(): Promise<void> | undefined;
  flush?(): Promise<void>;
}


/**
 * The load side of QEMU 7.2's `block` section (block_load): be64 `sector << 9 | flags` records until EOS in
 * every START/PART/END body. A chunk names its drive and carries 1 MiB (the last chunk of a drive too);
 * before a callback sees it, the drive must exist here, take writes, and the chunk must start inside it.
 * Only the part up to the drive's end is handed on (QEMU's own loader fails on a drive that is not whole
 * MiB). What lies past the end is padding: mig's sources pad with zeros, QEMU's with whatever memory held,
 * so non-zero padding is reported (onPaddingData), not refused.
 */
export class BlockSectionReader implements LoadSection {
  readonly idstr = BLOCK_SECTION.idstr;
  readonly instanceId = BLOCK_SECTION.instanceId;
  readonly version = BLOCK_SECTION.version;
  readonly iterative = true;

  private readonly names: readonly Uint8Array[];
  private lastDevice = -1;

  constructor(
    private readonly devices: readonly BlockDeviceShape[],
    private readonly v: BlockVisitor,
  ) {
    this.names = devices.map((d) => Buffer.from(d.name, 'utf8'));
  }

  begin(_kind: SectionRecordKind, _versionId: number, context: LoadContext): void {
    context.record = 'block record';
  }

  backpressure(): Promise<void> | undefined {
    return this.v.backpressure?.();
  }

  async flush(): Promise<void> {
    await this.v.flush?.();
  }

  parse(b: Uint8Array, p: number, end: number, context: LoadContext): number {
    if (end - p < 8) {
      context.record = 'block record';
      return -8;
    }
    const hi = be32(b, p);
    const lo = be32(b, p + 4);
    const flags = lo & BLOCK_FLAGS_MASK;
    const value = hi * 0x800000 + (lo >>> 9); // (hi << 32 | lo) >> 9
    if (flags === BlockFlag.DEVICE_BLOCK || flags === (BlockFlag.DEVICE_BLOCK | BlockFlag.ZERO_BLOCK)) {
      return this.parseChunk(b, p, end, value, flags !== BlockFlag.DEVICE_BLOCK, context);
    }
    if (flags === BlockFlag.PROGRESS) {
      context.record = 'block PROGRESS';
      if (value > 100) throw context.error(`progress ${value} % is above 100`);
      this.v.onProgress?.(value);
      return 8;
    }
    if (flags === BlockFlag.EOS && value === 0) {
      context.record = 'block EOS';
      context.endBody();
      this.v.onEos?.();
      return 8;
    }
    context.record = 'block record';
    throw context.error(`Unknown block migration flags: ${hex(flags)} (record word ${hex(hi)}${lo.toString(16).padStart(8, '0')})`);
  }

  /** DEVICE_BLOCK [| ZERO_BLOCK]: counted device name, then 1 MiB unless zero. */
  private parseChunk(b: Uint8Array, p: number, end: number, sector: number, zero: boolean, context: LoadContext): number {
    context.record = zero ? 'block zero chunk' : 'block chunk';
    if (end - p < 9) return -9;
    const nameLen = b[p + 8]!;
    if (end - p < 9 + nameLen) return -(9 + nameLen);
    const device = this.findDevice(b, p + 9, nameLen, context);
    const d = this.devices[device]!;
    const offset = sector * SECTOR_SIZE;
    if (offset >= d.size) {
      throw context.error(`chunk at sector ${sector} (byte ${offset}) is past the end of block device '${d.name}' (${d.size} bytes)`);
    }
    const len = Math.min(CHUNK_SIZE, d.size - offset);
    const q = p + 9 + nameLen;
    if (zero) {
      this.v.onChunk(device, offset, len, null, 0);
      return q - p;
    }
    if (end - q < CHUNK_SIZE) return -(q - p + CHUNK_SIZE);
    if (len < CHUNK_SIZE && this.v.onPaddingData) {
      const bytes = nonZeroBytes(b, q + len, q + CHUNK_SIZE);
      if (bytes > 0) this.v.onPaddingData(device, offset + len, bytes);
    }
    this.v.onChunk(device, offset, len, b, q);
    return q - p + CHUNK_SIZE;
  }

  /** The drive named at b[p..p+len): it must exist here and take writes. */
  private findDevice(b: Uint8Array, p: number, len: number, context: LoadContext): number {
    const last = this.lastDevice;
    if (last >= 0 && sameBytes(this.names[last]!, b, p, len)) return last;
    const i = this.names.findIndex((n) => sameBytes(n, b, p, len));
    if (i < 0) {
      const have = this.devices.map((d) => d.name).join(', ') || 'none';
      throw context.error(`Error unknown block device ${printable(b, p, p + len)} (this target's drives: ${have})`);
    }
    if (this.devices[i]!.readOnly) throw context.error(`block device ${this.devices[i]!.name} is read-only: it cannot take a migration's writes`);
    this.lastDevice = i;
    return i;
  }
}

function nonZeroBytes(b: Uint8Array, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) if (b[i] !== 0) n++;
  return n;
}

function sameBytes(a: Uint8Array, b: Uint8Array, p: number, len: number): boolean {
  if (a.length !== len) return false;
  for (let k = 0; k < len; k++) if (a[k] !== b[p + k]) return false;
  return true;
}
