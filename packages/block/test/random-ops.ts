// Random writes and zero writes applied both to an image and to an in-memory model of its bytes.
// Ops in one batch are in flight together and cover disjoint bytes (they may share clusters), so the
// model's result does not depend on completion order.
import type { DiskImage } from '../src/index.js';
import { randomBytes, randomInt } from './patterns.js';

export interface OpsOptions {
  batches: number;
  perBatch: number;
  maxLength: number;
  /** Share of zero writes (the rest are data writes). */
  zeroShare: number;
  clusterSize: number;
}

interface Op {
  offset: number;
  length: number;
  zero: boolean;
}

export async function applyRandomOps(image: DiskImage, model: Buffer, rand: () => number, o: OpsOptions): Promise<void> {
  for (let b = 0; b < o.batches; b++) {
    const ops = pickDisjoint(rand, image.virtualSize, o);
    await Promise.all(
      ops.map((op) => {
        if (op.zero) {
          model.fill(0, op.offset, op.offset + op.length);
          return image.writeZeroes(op.offset, op.length);
        }
        const data = randomBytes(rand, op.length);
        data.copy(model, op.offset);
        return image.write(op.offset, data, 0, op.length);
      }),
    );
  }
}

function pickDisjoint(rand: () => number, size: number, o: OpsOptions): Op[] {
  const ops: Op[] = [];
  for (let tries = 0; ops.length < o.perBatch && tries < o.perBatch * 20; tries++) {
    const length = pickLength(rand, o);
    const aligned = rand() < 0.3;
    let offset = randomInt(rand, size - length + 1);
    if (aligned) offset -= offset % o.clusterSize;
    const op = { offset, length: Math.min(length, size - offset), zero: rand() < o.zeroShare };
    if (op.length === 0 || ops.some((p) => op.offset < p.offset + p.length && p.offset < op.offset + op.length)) continue;
    ops.push(op);
  }
  return ops;
}

/** Mostly small and sub-cluster, sometimes whole clusters, sometimes long runs. */
function pickLength(rand: () => number, o: OpsOptions): number {
  const r = rand();
  if (r < 0.4) return 1 + randomInt(rand, Math.min(o.clusterSize, 8192));
  if (r < 0.6) return o.clusterSize * (1 + randomInt(rand, 3));
  return 1 + randomInt(rand, o.maxLength);
}
