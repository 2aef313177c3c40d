// Throughput of the RAM stream hot paths (run after `pnpm --filter @mig/ram build`):
//   node bench/stream.bench.mjs [MiB]
// Prints GB/s for the zero-page check, the saver (a full pass into drained chunks), the loader, and the
// number of young-generation GCs seen during each loop (allocation per page would show up there).
import { PerformanceObserver } from 'node:perf_hooks';
import { GlobalStateLoadSection, GlobalStateSaveSection, SavevmSaver, StreamReader, TimerLoadSection, TimerSaveSection } from '@mig/savevm';
import { DirtyBitmap, GuestRam, RamLoader, RamSaveSection, createRamBlock, isZeroPage } from '../dist/index.js';

const MiB = Number(process.argv[2] ?? 256);
const SIZE = MiB << 20;
let gcs = 0;
new PerformanceObserver((l) => (gcs += l.getEntries().filter((e) => e.detail?.kind === 1).length)).observe({ entryTypes: ['gc'] });

function time(name, bytes, fn) {
  fn(); // warm-up
  const g0 = gcs;
  const t0 = process.hrtime.bigint();
  fn();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return new Promise((r) => setTimeout(() => {
    console.log(`${name.padEnd(48)} ${(bytes / s / 1e9).toFixed(2)} GB/s  (${(s * 1000).toFixed(0)} ms, minor GCs ${gcs - g0})`);
    r();
  }, 10));
}

const bytes = new Uint8Array(SIZE);
const zero = new Uint8Array(SIZE);
// Half the pages random-ish, half zero.
const w = new Uint32Array(bytes.buffer);
let x = 1;
for (let p = 0; p < SIZE / 4096; p += 2) for (let i = 0; i < 1024; i++) w[p * 1024 + i] = x = (Math.imul(x, 1664525) + 1013904223) >>> 0;

await time('isZeroPage (all-zero RAM)', SIZE, () => {
  let n = 0;
  for (let o = 0; o < SIZE; o += 4096) if (isZeroPage(zero, o)) n++;
  if (n !== SIZE / 4096) throw new Error('bad count');
});

const ram = new GuestRam([createRamBlock('mem0', bytes)]);
/** One full migration; `sink` gets every chunk (a socket would write and drop it). */
function migrate(sink) {
  const ramSection = new RamSaveSection({ ram, dirty: new DirtyBitmap(ram.totalPages) });
  const saver = new SavevmSaver({ machine: 'none', sections: [new TimerSaveSection(), ramSection, new GlobalStateSaveSection()] });
  saver.setup();
  saver.syncDirty();
  while (saver.pendingBytes() > 0) {
    saver.iterate(4 << 20);
    for (const c of saver.drainOutput()) sink(c);
  }
  saver.complete('running');
  for (const c of saver.drainOutput()) sink(c);
}
let sent = 0;
await time('SavevmSaver + RamSaveSection, full pass (50% zero)', SIZE, () => migrate((c) => (sent += c.length)));
const stream = [];
migrate((c) => stream.push(c));

const target = new GuestRam([createRamBlock('mem0', new Uint8Array(SIZE))]);
await time('StreamReader + RamLoader (64 KiB chunks)', SIZE, () => {
  const ramLoader = new RamLoader({ ram: target });
  const loader = new StreamReader({ machine: 'none', sections: [new TimerLoadSection(), ramLoader.section, new GlobalStateLoadSection()] });
  for (const c of stream) for (let p = 0; p < c.length; p += 65536) loader.push(c.subarray(p, p + 65536));
  loader.end();
});

const dirty = new DirtyBitmap(8 * 1024 * 256); // 8 GiB of pages
for (let p = 0; p < dirty.pages; p += 100_003) dirty.set(p);
await time('DirtyBitmap.nextSet (8 GiB, sparse)', 8 * 2 ** 30, () => {
  let n = 0;
  for (let p = dirty.nextSet(0); p >= 0; p = dirty.nextSet(p + 1)) n++;
  if (n !== dirty.count()) throw new Error('bad count');
});
