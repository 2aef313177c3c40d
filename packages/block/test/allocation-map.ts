// Compare our allocationStatus with qemu-img map: both reduced to merged {start, length, allocated, zero}.
import type { AllocationExtent } from '../src/index.js';
import type { MapExtent } from './qemu-tools.js';

export interface Canonical {
  start: number;
  length: number;
  allocated: boolean;
  zero: boolean;
}

function merge(list: Canonical[]): Canonical[] {
  const out: Canonical[] = [];
  for (const e of list) {
    const last = out[out.length - 1];
    if (last !== undefined && last.allocated === e.allocated && last.zero === e.zero && last.start + last.length === e.start) {
      last.length += e.length;
    } else out.push({ ...e });
  }
  return out;
}

/**
 * The top image's own allocation in qemu-img map: present at depth 0. For allocated ranges "zero" means a
 * zero cluster (no data; QEMU may also call holes in data clusters zero, so data decides); unallocated
 * ranges read as zeros exactly when there is no backing image.
 */
export function topLayerFromMap(map: MapExtent[], hasBacking: boolean): Canonical[] {
  return merge(
    map.map((m) => {
      const allocated = m.present && m.depth === 0;
      return { start: m.start, length: m.length, allocated, zero: allocated ? !m.data : !hasBacking };
    }),
  );
}

export function fromStatus(extents: AllocationExtent[]): Canonical[] {
  return merge(extents.map((e) => ({ start: e.offset, length: e.length, allocated: e.allocated, zero: e.zero })));
}
