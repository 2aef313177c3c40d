// Counts the block section's records per drive and hands chunks to --disk-out.
import type { SectionRecordKind } from '@mig/savevm';
import { CHUNK_SIZE } from '@mig/block';
import type { BlockDeviceSummary, BlockSummary } from './analysis-result.js';
import type { DiskImageOut } from './disk-image-out.js';
import type { BlockRecordVisitor } from './learning-block-section.js';
import { UnitBitmap } from './page-bitmap.js';

export class BlockCensus implements BlockRecordVisitor {
  readonly devices: BlockDeviceSummary[] = [];
  readonly progress: number[] = [];
  eosRecords = 0;
  seen = false;
  private readonly sent: UnitBitmap[] = [];

  constructor(private readonly out: DiskImageOut | undefined) {}

  onSectionRecord(_kind: SectionRecordKind): void {
    this.seen = true;
  }

  onDevice(name: string): void {
    this.devices.push({ name, chunks: 0, zeroChunks: 0, distinctChunks: 0, highestEnd: 0, paddingBytes: 0 });
    this.sent.push(new UnitBitmap());
    this.out?.open(name);
  }

  onChunk(device: number, offset: number, len: number, buf: Uint8Array | null, at: number): void {
    const d = this.devices[device]!;
    d.chunks++;
    if (buf === null) d.zeroChunks++;
    const unit = offset / CHUNK_SIZE;
    const sent = this.sent[device]!;
    if (!sent.has(unit)) {
      sent.set(unit);
      d.distinctChunks++;
    }
    if (offset + len > d.highestEnd) d.highestEnd = offset + len;
    this.out?.chunk(device, offset, len, buf, at);
  }

  onPaddingData(device: number, _offset: number, bytes: number): void {
    this.devices[device]!.paddingBytes += bytes;
  }

  onProgress(percent: number): void {
    if (this.progress[this.progress.length - 1] !== percent) this.progress.push(percent);
  }

  onEos(): void {
    this.eosRecords++;
  }

  summary(): BlockSummary {
    return {
      devices: this.devices.map((d) => ({ ...d })),
      progress: [...this.progress],
      eosRecords: this.eosRecords,
      ...(this.out ? { files: this.out.files.map((f) => ({ ...f })) } : {}),
    };
  }
}
