// A test-only iterative section (exported for the tests of packages that plug sections in; registered by no
// production code), `x-test-counter`: numbered 16-byte items sent a budget at a time. It is what
// any future section (block, dirty-bitmap, ...) is to the framing: records the framing does not understand.
// Record: be32 tag 1, be32 index, be64 value; end of body: be32 tag 0.
import { be32, be64 } from '../wire/bytes.js';
import type { StreamWriter } from '../wire/stream-writer.js';
import type { IterativeSaveSection, LoadContext, LoadSection, SectionRecordKind } from '../sections/section.js';

export const COUNTER_SECTION = { idstr: 'x-test-counter', instanceId: 0, version: 1, sectionId: 7 } as const;
export const COUNTER_ITEM_BYTES = 16;

export class CounterSaveSection implements IterativeSaveSection {
  readonly iterative = true;
  readonly idstr = COUNTER_SECTION.idstr;
  readonly instanceId = COUNTER_SECTION.instanceId;
  readonly version = COUNTER_SECTION.version;
  readonly sectionId: number;
  next = 0;
  syncs = 0;
  /** The switchover threshold seen by the last pending() call. */
  lastThreshold = -1;

  constructor(private readonly items: number, options: { sectionId?: number; active?: boolean } = {}) {
    this.sectionId = options.sectionId ?? COUNTER_SECTION.sectionId;
    this.active = options.active ?? true;
  }
  private readonly active: boolean;

  isActive(): boolean {
    return this.active;
  }
  setup(out: StreamWriter): void {
    out.be32(0);
  }
  syncDirty(): void {
    this.syncs++;
  }
  pending(threshold: number): number {
    this.lastThreshold = threshold;
    return (this.items - this.next) * COUNTER_ITEM_BYTES;
  }
  iterate(out: StreamWriter, budget: number): boolean {
    const limit = out.bytesWritten + budget;
    while (this.next < this.items && out.bytesWritten < limit) this.writeItem(out);
    out.be32(0);
    return this.next === this.items;
  }
  complete(out: StreamWriter): void {
    while (this.next < this.items) this.writeItem(out);
    out.be32(0);
  }
  private writeItem(out: StreamWriter): void {
    out.be32(1);
    out.be32(this.next);
    out.be64(this.next * 1000 + 7);
    this.next++;
  }
}

export class CounterLoadSection implements LoadSection {
  readonly iterative = true;
  readonly idstr = COUNTER_SECTION.idstr;
  readonly instanceId = COUNTER_SECTION.instanceId;
  readonly version = COUNTER_SECTION.version;
  readonly values: number[] = [];
  readonly kinds: SectionRecordKind[] = [];

  begin(kind: SectionRecordKind, _versionId: number, context: LoadContext): void {
    this.kinds.push(kind);
    context.record = 'x-test-counter';
  }
  parse(b: Uint8Array, p: number, end: number, context: LoadContext): number {
    if (end - p < 4) return -4;
    const tag = be32(b, p);
    if (tag === 0) {
      context.endBody();
      return 4;
    }
    context.record = 'x-test-counter item';
    if (tag !== 1) throw context.error(`unknown tag ${tag}`);
    if (end - p < COUNTER_ITEM_BYTES) return -COUNTER_ITEM_BYTES;
    const index = be32(b, p + 4);
    if (index !== this.values.length) throw context.error(`item ${index} out of order (expected ${this.values.length})`);
    this.values.push(be64(b, p + 8));
    return COUNTER_ITEM_BYTES;
  }
  finish(context: LoadContext): void {
    if (this.kinds.at(-1) !== 'end') throw context.error('counter section never ended');
  }
}
