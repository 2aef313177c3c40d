// The block section reader's fuzz target: QEMU 7.2's block migration streams (test/fixtures) as seeds, loaded
// into a `-machine none -m 4M` target with in-memory drives d0 (4 MiB), d1 (2 MiB) and r0 (1 MiB, read-only),
// the way the daemon's incoming worker feeds its reader.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { SectionProbe, loadPieces, splitChunks, type LoadLimits, type LoadOutcome, type SeedInput } from '@mig/fuzz';
import type { BlockTargetDevice } from '../src/migration/block-device.js';
import { CHUNK_SIZE } from '../src/migration/constants.js';
import { machineNoneTarget } from './migration-streams.js';

export const BLOCK_FIXTURES = ['blk-raw-3m64k', 'blk-raw-3m64k-zero-blocks', 'blk-raw-dirty', 'blk-two-drives-ro', 'inc-qcow2-over-raw'];

/** A drive kept in memory (writes land in a Uint8Array). */
export function memoryDevice(name: string, size: number, readOnly = false): BlockTargetDevice {
  const bytes = new Uint8Array(size);
  return {
    name, size, readOnly,
    write: async (offset, buf, len) => void bytes.set(buf.subarray(0, len), offset),
    writeZeroes: async (offset, len) => void bytes.fill(0, offset, offset + len),
    flush: async () => undefined,
  };
}

export const targetDrives = (): BlockTargetDevice[] => [memoryDevice('d0', 4 << 20), memoryDevice('d1', 2 << 20), memoryDevice('r0', 1 << 20, true)];

/** The largest record a reader may hold while it waits for the rest: a 1 MiB chunk with its header (or a vmdesc). */
export const LIMITS: LoadLimits = { maxBuffered: CHUNK_SIZE + 512, stepsPerByte: 2, deadlineMs: 60_000 };

export interface BlockLoad {
  readonly outcome: LoadOutcome;
  readonly buffersAllocated: number;
  readonly starts: ReadonlySet<number>;
}

/** One load of `bytes` in `pieces` into a fresh target. */
export async function loadBlockStream(pieces: readonly Uint8Array[], collectStarts = false): Promise<BlockLoad> {
  const t = machineNoneTarget(4 << 20, { devices: targetDrives() });
  const probe = new SectionProbe([t.blockLoader.section, t.ramLoader.section, t.globalstate], collectStarts);
  const outcome = await loadPieces(t.reader, probe, pieces, LIMITS);
  return { outcome, buffersAllocated: t.blockLoader.buffersAllocated, starts: probe.starts };
}

/** The fixtures as seeds, each with its record starts (found by loading it once). */
export async function blockSeeds(): Promise<SeedInput[]> {
  const seeds: SeedInput[] = [];
  for (const name of BLOCK_FIXTURES) {
    const meta = JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8')) as { stream: { file: string } };
    const bytes = new Uint8Array(gunzipSync(readFileSync(new URL(`./fixtures/${meta.stream.file}`, import.meta.url))));
    const probe = await loadBlockStream(splitChunks(bytes, { kind: 'every', size: 65536 }), true);
    if (probe.outcome.kind !== 'completed') throw new Error(`seed ${name} does not load: ${JSON.stringify(probe.outcome)}`);
    seeds.push({ name, bytes, boundaries: [0, 8, ...[...probe.starts].sort((a, b) => a - b)] });
  }
  return seeds;
}
