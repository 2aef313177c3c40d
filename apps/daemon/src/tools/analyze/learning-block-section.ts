// The `block` section for a reader that knows no drives in advance: @mig/block's BlockSectionReader takes
// the target's drives (names and sizes) in its constructor. The stream names a drive in each chunk record
// and never says its size, so this section peeks at each chunk record's drive name and, for a name not seen
// before, rebuilds the reader over the drives seen so far; sizes are those given, else unbounded (a file
// then ends at the highest chunk). The reader parses every record.
import { be32, type LoadContext, type LoadSection, type SectionRecordKind } from '@mig/savevm';
import {
  BLOCK_FLAGS_MASK,
  BLOCK_SECTION,
  BlockFlag,
  BlockSectionReader,
  CHUNK_SIZE,
  type BlockDeviceShape,
  type BlockVisitor,
} from '@mig/block';

/** A BlockVisitor that is also told of each drive when the stream first names it. */
export interface BlockRecordVisitor extends BlockVisitor {
  onDevice?(name: string): void;
  onSectionRecord?(kind: SectionRecordKind): void;
}

/** The size of a drive whose size is not given: as large as a chunk offset can be, whole chunks. */
export const UNBOUNDED_DRIVE = Math.floor(Number.MAX_SAFE_INTEGER / CHUNK_SIZE) * CHUNK_SIZE;

export class LearningBlockSection implements LoadSection {
  readonly idstr = BLOCK_SECTION.idstr;
  readonly instanceId = BLOCK_SECTION.instanceId;
  readonly version = BLOCK_SECTION.version;
  readonly iterative = true;
  private readonly devices: BlockDeviceShape[] = [];
  private readonly names: Uint8Array[] = [];
  private reader: BlockSectionReader;

  constructor(
    private readonly sizes: ReadonlyMap<string, number>,
    private readonly visitor: BlockRecordVisitor,
  ) {
    this.reader = new BlockSectionReader(this.devices, visitor);
  }

  /** The drives named so far, in the order the stream first named them. */
  get deviceNames(): string[] {
    return this.devices.map((d) => d.name);
  }

  begin(kind: SectionRecordKind, versionId: number, context: LoadContext): void {
    this.visitor.onSectionRecord?.(kind);
    this.reader.begin(kind, versionId, context);
  }

  parse(b: Uint8Array, p: number, end: number, context: LoadContext): number {
    const need = this.learnDevice(b, p, end);
    if (need < 0) return need;
    return this.reader.parse(b, p, end, context);
  }

  backpressure(): Promise<void> | undefined {
    return this.reader.backpressure();
  }

  flush(): Promise<void> {
    return this.reader.flush();
  }

  /** A chunk record naming a drive not seen before adds it: 0 when done, or -(bytes needed for the name). */
  private learnDevice(b: Uint8Array, p: number, end: number): number {
    if (end - p < 8 || (be32(b, p + 4) & BLOCK_FLAGS_MASK & BlockFlag.DEVICE_BLOCK) === 0) return 0;
    if (end - p < 9) return -9;
    const len = b[p + 8]!;
    if (end - p < 9 + len) return -(9 + len);
    for (const n of this.names) if (sameBytes(n, b, p + 9, len)) return 0;
    const bytes = b.slice(p + 9, p + 9 + len);
    const name = Buffer.from(bytes).toString('utf8');
    this.names.push(bytes);
    this.devices.push({ name, size: this.sizes.get(name) ?? UNBOUNDED_DRIVE, readOnly: false });
    this.reader = new BlockSectionReader(this.devices, this.visitor);
    this.visitor.onDevice?.(name);
    return 0;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array, p: number, len: number): boolean {
  if (a.length !== len) return false;
  for (let k = 0; k < len; k++) if (a[k] !== b[p + k]) return false;
  return true;
}
