// The stream reader's fuzz target, built as the incoming worker builds it (incomingSections: timer, block,
// ram with XBZRLE, globalstate; drives served by a DriveHost over a MessagePort), seeded with QEMU 7.2's
// streams kept in the repository: the ram fixtures, the block fixtures, and a ram section carrying QEMU's own
// XBZRLE encodings.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { openDiskImage, type DiskImage } from '@mig/block';
import { SectionProbe, loadPieces, splitChunks, type LoadLimits, type LoadOutcome, type ParsingSection, type SeedInput } from '@mig/fuzz';
import { createRamBlock, GuestRam } from '@mig/ram';
import { Drive } from '../src/block/drive.js';
import { openDriveChannel } from '../src/block/drive-host.js';
import { incomingSections } from '../src/migration/sections.js';
import { xbzrleVectorStream } from './xbzrle-vector-stream.js';

const repoFile = (path: string): URL => new URL(`../../../${path}`, import.meta.url);

/** The RAM a seed's MEM_SIZE asks for: block name and size. */
export interface RamShape {
  readonly idstr: string;
  readonly bytes: number;
}

export interface StreamSeed extends SeedInput {
  readonly ram: RamShape;
}

export const LIMITS: LoadLimits = { maxBuffered: (1 << 20) + 512, stepsPerByte: 2, deadlineMs: 60_000 };

/** Drives d0 (4 MiB), d1 (2 MiB), r0 (1 MiB, read-only) in a temporary directory, served as the daemon serves them. */
export class StreamTarget {
  private readonly rams = new Map<string, GuestRam>();
  private constructor(
    private readonly dir: string,
    private readonly images: readonly DiskImage[],
    private readonly channel: ReturnType<typeof openDriveChannel>,
    private readonly drives: readonly Drive[],
  ) {}

  static async create(): Promise<StreamTarget> {
    const dir = await mkdtemp(join(tmpdir(), 'mig-stream-fuzz-'));
    const specs = [['d0', 4 << 20, false], ['d1', 2 << 20, false], ['r0', 1 << 20, true]] as const;
    const gate = { enter: () => undefined, leave: () => undefined };
    const images: DiskImage[] = [];
    const drives: Drive[] = [];
    for (const [id, size, readOnly] of specs) {
      const file = join(dir, `${id}.raw`);
      await writeFile(file, Buffer.alloc(size));
      const image = await openDiskImage(file, { format: 'raw', readOnly });
      images.push(image);
      drives.push(new Drive(id, `#block${drives.length}`, file, image, gate));
    }
    return new StreamTarget(dir, images, openDriveChannel(drives), drives);
  }

  private ram(shape: RamShape): GuestRam {
    const key = `${shape.idstr}:${shape.bytes}`;
    let ram = this.rams.get(key);
    if (ram === undefined) {
      ram = new GuestRam([createRamBlock(shape.idstr, new Uint8Array(shape.bytes))]);
      this.rams.set(key, ram);
    }
    return ram;
  }

  /** One load into fresh sections (the same RAM and drives); `starts` collects record offsets when asked. */
  async load(shape: RamShape, pieces: readonly Uint8Array[], starts?: Set<number>): Promise<{ outcome: LoadOutcome; buffers: number }> {
    const s = incomingSections({
      machine: 'none', ram: this.ram(shape), block: { drives: this.drives.map((d) => d.workerInfo()), port: this.channel.port },
    });
    const probe = new SectionProbe(s.sections as unknown as ParsingSection[], starts !== undefined);
    const outcome = await loadPieces(s.reader, probe, pieces, LIMITS);
    for (const o of probe.starts) starts?.add(o);
    return { outcome, buffers: s.block?.buffersAllocated ?? 0 };
  }

  async close(): Promise<void> {
    this.channel.port.close();
    for (const image of this.images) await image.close();
    await rm(this.dir, { recursive: true, force: true });
  }
}

function rawSeeds(): Array<{ name: string; bytes: Uint8Array; ram: RamShape }> {
  const ramFixture = (name: string, bytes: number) => ({
    name, ram: { idstr: 'mem0', bytes }, bytes: new Uint8Array(readFileSync(repoFile(`packages/ram/test/fixtures/${name}.stream`))),
  });
  const blockFixture = (name: string) => ({
    name, ram: { idstr: 'ram', bytes: 4 << 20 }, bytes: new Uint8Array(gunzipSync(readFileSync(repoFile(`packages/block/test/fixtures/${name}.stream.gz`)))),
  });
  const vectors = gunzipSync(readFileSync(repoFile('packages/ram/test/fixtures/xbzrle/xbzrle-qemu-vectors.bin.gz')));
  return [
    ramFixture('qemu72-mem0-1m-small', 1 << 20),
    ramFixture('qemu72-mem0-4m', 4 << 20),
    ...['blk-raw-3m64k', 'blk-raw-3m64k-zero-blocks', 'blk-raw-dirty', 'blk-two-drives-ro', 'inc-qcow2-over-raw'].map(blockFixture),
    { name: 'qemu-xbzrle-vectors', ram: { idstr: 'ram', bytes: 64 * 4096 }, bytes: xbzrleVectorStream(vectors, 256) },
  ];
}

/** The seeds, each loaded once (it must complete) to find where its records start. */
export async function streamSeeds(target: StreamTarget): Promise<StreamSeed[]> {
  const seeds: StreamSeed[] = [];
  for (const s of rawSeeds()) {
    const starts = new Set<number>([0, 8]);
    const { outcome } = await target.load(s.ram, splitChunks(s.bytes, { kind: 'every', size: 65536 }), starts);
    if (outcome.kind !== 'completed') throw new Error(`seed ${s.name} does not load: ${JSON.stringify(outcome)}`);
    seeds.push({ ...s, boundaries: [...starts].sort((a, b) => a - b) });
  }
  return seeds;
}
