// The guest workload's thread: writes guest RAM at a paced rate in batches (every ~2 ms), marking each page
// dirty AFTER writing it, so a sync that harvested the bit before the write cannot lose it: the bit is set
// again and the page goes out once more. No promise, closure or allocation per write.
import { workerData } from 'node:worker_threads';
import { viewHostMemory } from './host-memory.js';
import {
  CFG_OFFSET, CFG_RATE, CFG_SEED, CFG_WRITES, CFG_WSS_PAGES, CTRL_ACK, CTRL_GEN, CTRL_PATTERN, CTRL_RUN, CTRL_THROTTLE,
  controlViews, type WorkloadWorkerData,
} from './workload-shared.js';

const PAGE = 4096;
const TICK_MS = 2;
/** Catch-up after a slow batch is bounded to this much time's worth of writes. */
const MAX_BACKLOG_MS = 50;

const data = workerData as WorkloadWorkerData;
const { ctrl, cfg } = controlViews(data.control);
const blocks = data.blocks.map((b) => {
  const bytes = viewHostMemory(b.handle);
  return {
    start: b.guestAddress,
    end: b.guestAddress + b.handle.size,
    bytes,
    words: new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2),
    dirty: new Int32Array(b.dirty),
  };
});

let rng = (cfg[CFG_SEED]! >>> 0) || 0x9e3779b9;
function next(): number {
  let x = rng;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  rng = x >>> 0;
  return rng;
}

function writeOne(pattern: number, wssPages: number, base: number): void {
  const address = base + (next() % wssPages) * PAGE;
  let bi = 0;
  while (bi < blocks.length && !(address >= blocks[bi]!.start && address < blocks[bi]!.end)) bi++;
  if (bi === blocks.length) return;
  const b = blocks[bi]!;
  const offset = address - b.start;
  if (pattern === 1) {
    // sparse: one 32-bit word at a random offset of the page, never left equal (so the page really changes)
    const w = (offset >>> 2) + (next() & 1023);
    const v = next() | 1;
    b.words[w] = b.words[w] === v ? v ^ 2 : v;
  } else if (pattern === 0) {
    const w0 = offset >>> 2;
    for (let i = 0; i < 1024; i++) b.words[w0 + i] = next();
  } else {
    b.bytes.fill(0, offset, offset + PAGE);
  }
  const page = offset / PAGE;
  Atomics.or(b.dirty, page >>> 5, 1 << (page & 31));
}

function loop(): void {
  let credit = 0;
  let last = 0;
  let gen = -1;
  for (;;) {
    const run = Atomics.load(ctrl, CTRL_RUN);
    if (run === 2) return;
    if (run !== 1) {
      Atomics.store(ctrl, CTRL_ACK, 0);
      Atomics.notify(ctrl, CTRL_ACK);
      Atomics.wait(ctrl, CTRL_RUN, run);
      last = 0;
      continue;
    }
    // Dekker handshake with pause(): announce we may write, then check the run flag again.
    Atomics.store(ctrl, CTRL_ACK, 1);
    if (Atomics.load(ctrl, CTRL_RUN) !== 1) continue;
    const t = performance.now();
    const g = Atomics.load(ctrl, CTRL_GEN);
    if (last === 0 || g !== gen) {
      last = t;
      gen = g;
      credit = 0;
    }
    const throttle = Atomics.load(ctrl, CTRL_THROTTLE);
    const rate = (cfg[CFG_RATE]! * (100 - throttle)) / 100; // writes per second while throttled
    credit += ((t - last) * rate) / 1000;
    const cap = (MAX_BACKLOG_MS * rate) / 1000;
    if (credit > cap + 1) credit = cap + 1;
    last = t;
    const n = Math.floor(credit);
    if (n > 0) {
      credit -= n;
      const pattern = Atomics.load(ctrl, CTRL_PATTERN);
      const wssPages = cfg[CFG_WSS_PAGES]!;
      const base = cfg[CFG_OFFSET]!;
      for (let i = 0; i < n; i++) writeOne(pattern, wssPages, base);
      cfg[CFG_WRITES] = cfg[CFG_WRITES]! + n;
    }
    // Sleep until the next tick, or at once when the run flag changes.
    Atomics.wait(ctrl, CTRL_RUN, 1, TICK_MS);
  }
}

loop();
