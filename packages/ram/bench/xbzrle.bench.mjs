// XBZRLE encode/decode throughput on 4 KiB pages, on the built package (run `pnpm --filter @mig/ram build` first).
// Usage: node bench/xbzrle.bench.mjs [secondsPerCase=0.6]
import * as ram from '../dist/index.js';

const { xbzrleEncode, xbzrleDecode } = ram;
const P = 4096;
const PAIRS = 256;
const SECONDS = Number(process.argv[2] ?? 0.6);

// QEMU 7.2's C encoder/decoder on this machine kind, MB/s (from the brief).
const QEMU = {
  identical: { enc: [13700, 17600] },
  '1%': { enc: [7600, 9600], dec: [42000, 60000] },
  '10%': { enc: [980, 1100], dec: [3400, 3900] },
  '50%': { enc: [320, 320], dec: [840, 910] },
  random: { enc: [4100, 4100] },
  'every-8th': { enc: [510, 520], dec: [950, 950] },
};

let seed = 0x12345678;
function rnd() {
  seed = (seed + 0x9e3779b9) >>> 0;
  let z = seed;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/** Changes about `fraction` of the page's bytes, in runs of 1..8 bytes at random places. */
function changeRuns(page, off, fraction) {
  const target = Math.round(P * fraction);
  let changed = 0;
  const seen = new Uint8Array(P);
  while (changed < target) {
    const at = rnd() % P;
    const len = 1 + (rnd() % 8);
    for (let k = at; k < Math.min(P, at + len) && changed < target; k++) {
      if (seen[k]) continue;
      seen[k] = 1;
      page[off + k] ^= 1 + (rnd() % 255);
      changed++;
    }
  }
}

function makeCase(kind) {
  const old = new Uint8Array(P * PAIRS);
  for (let k = 0; k < old.length; k++) old[k] = rnd() & 0xff;
  const neu = old.slice();
  for (let p = 0; p < PAIRS; p++) {
    const off = p * P;
    if (kind === '1%') changeRuns(neu, off, 0.01);
    else if (kind === '10%') changeRuns(neu, off, 0.1);
    else if (kind === '50%') changeRuns(neu, off, 0.5);
    else if (kind === 'random') for (let k = 0; k < P; k++) neu[off + k] = rnd() & 0xff;
    else if (kind === 'every-8th') for (let k = 0; k < P; k += 8) neu[off + k] ^= 1 + (rnd() % 255);
  }
  return { old, neu };
}

function timeLoop(fn) {
  // warm up, then run whole rounds of PAIRS pages until SECONDS have passed
  for (let w = 0; w < 20; w++) fn();
  let rounds = 0;
  const t0 = process.hrtime.bigint();
  let ns = 0;
  do {
    for (let r = 0; r < 10; r++) fn();
    rounds += 10;
    ns = Number(process.hrtime.bigint() - t0);
  } while (ns < SECONDS * 1e9);
  return (rounds * PAIRS * P) / (ns / 1e9) / 1e6; // MB/s (10^6 bytes)
}

const IMPLS = {
  ts: { enc: ram.xbzrleEncodeTs, dec: ram.xbzrleDecodeTs },
  wasm: { enc: ram.xbzrleEncodeWasm, dec: ram.xbzrleDecodeWasm },
  default: { enc: xbzrleEncode, dec: xbzrleDecode },
};
if (!ram.xbzrleWasmSupported) delete IMPLS.wasm;

// Each implementation is timed by its own compiled loop (new Function), so its call site stays
// monomorphic, as it is in real use; a shared loop would call three different functions.
const encLoop = () => new Function('f', 'old', 'neu', 'out', 'P', 'PAIRS', 'o2', 'n2',
  'let s = 0; for (let p = 0; p < PAIRS; p++) s += f(old, o2 + p * P, neu, n2 + p * P, P, out, p * P, P); return s;');
const decLoop = () => new Function('f', 'src', 'lens', 'dest', 'P', 'PAIRS',
  'let s = 0; for (let p = 0; p < PAIRS; p++) s += f(src, p * P, lens[p], dest, p * P, P); return s;');

const rows = [];
const out = new Uint8Array(P * PAIRS);
const lens = new Int32Array(PAIRS);
let sink = 0;
// pages inside a kernel memory (as the page cache holds them): no copies in
const inMem = new ram.XbzrlePageCache(2 * PAIRS * P).arena;
const inMemDest = new ram.XbzrlePageCache(PAIRS * P).arena;
const inMemOk = ram.xbzrleWasmSupported && inMem.buffer !== inMemDest.buffer;
for (const kind of Object.keys(QEMU)) {
  const { old, neu } = makeCase(kind);
  for (let p = 0; p < PAIRS; p++) lens[p] = ram.xbzrleEncodeTs(old, p * P, neu, p * P, P, out, p * P, P);
  const overflow = lens.filter((l) => l < 0).length;
  const meanLen = lens.reduce((a, l) => a + Math.max(l, 0), 0) / PAIRS;
  const row = { pattern: kind, overflowPages: overflow, meanEncodedBytes: Math.round(meanLen), enc: {}, dec: {}, qemu: QEMU[kind] };
  const check = new Uint8Array(P);
  for (const [name, impl] of Object.entries(IMPLS)) {
    for (let p = 0; p < PAIRS; p++) {
      const r = impl.enc(old, p * P, neu, p * P, P, check, 0, P);
      if (r !== lens[p] || (r > 0 && !Buffer.from(check.subarray(0, r)).equals(out.subarray(p * P, p * P + r)))) {
        throw new Error(`${name} encoder disagrees with ts on ${kind} page ${p}`);
      }
    }
    const loop = encLoop();
    row.enc[name] = timeLoop(() => { sink += loop(impl.enc, old, neu, out, P, PAIRS, 0, 0); });
  }
  if (inMemOk) {
    inMem.set(old, 0);
    inMem.set(neu, PAIRS * P);
    const N = PAIRS * P;
    const loop = encLoop();
    row.enc['default in-memory'] = timeLoop(() => { sink += loop(xbzrleEncode, inMem, inMem, out, P, PAIRS, 0, N); });
  }
  if (QEMU[kind].dec) {
    for (const [name, impl] of Object.entries(IMPLS)) {
      const dest = old.slice();
      const loop = decLoop();
      row.dec[name] = timeLoop(() => { sink += loop(impl.dec, out, lens, dest, P, PAIRS); });
      if (!Buffer.from(dest).equals(Buffer.from(neu))) throw new Error(`${name} decode mismatch for ${kind}`);
    }
    if (inMemOk) {
      inMemDest.set(old, 0);
      const loop = decLoop();
      row.dec['default in-memory'] = timeLoop(() => { sink += loop(xbzrleDecode, out, lens, inMemDest, P, PAIRS); });
      if (!Buffer.from(inMemDest).equals(Buffer.from(neu))) throw new Error(`in-memory decode mismatch for ${kind}`);
    }
  }
  rows.push(row);
}

let zeroMBs = null;
if (typeof ram.isZeroPage === 'function') {
  const zeros = new Uint8Array(P * PAIRS);
  zeroMBs = timeLoop(() => {
    for (let p = 0; p < PAIRS; p++) sink += ram.isZeroPage(zeros, p * P) ? 1 : 0;
  });
}

const fmt = (n) => (n === null || n === undefined ? '-' : Math.round(n).toLocaleString('en-US'));
const ratio = (v, range) => (v === undefined || !range ? '-' : range[0] === range[1] ? `${(v / range[0]).toFixed(2)}x` : `${(v / range[1]).toFixed(2)}–${(v / range[0]).toFixed(2)}x`);
const names = [...Object.keys(IMPLS), ...(inMemOk ? ['default in-memory'] : [])];
console.log(`XBZRLE on ${P}-byte pages, ${PAIRS} distinct pairs per pattern, node ${process.version}, MB/s (ratio to QEMU 7.2's C)`);
console.log('ts: TypeScript reference; wasm: the SIMD kernels, pages in ordinary buffers (copied into the kernel memory); default: xbzrleEncode/xbzrleDecode (what they pick); default in-memory: the same with the old/new pages (encode) or the page to patch (decode) already in a kernel memory, as the XBZRLE page cache keeps them');
for (const dir of ['enc', 'dec']) {
  console.log(`\n${dir === 'enc' ? 'encode' : 'decode'}`);
  console.log(`${'pattern'.padEnd(11)} ${'QEMU'.padStart(14)} ${names.map((n) => n.padStart(24)).join('')}`);
  for (const r of rows) {
    const q = r.qemu[dir];
    if (!q) continue;
    const cells = names.map((n) => `${fmt(r[dir][n])} (${ratio(r[dir][n], q)})`.padStart(24)).join('');
    console.log(`${r.pattern.padEnd(11)} ${`${fmt(q[0])}–${fmt(q[1])}`.padStart(14)} ${cells}`);
  }
}
if (zeroMBs !== null) console.log(`\nisZeroPage: ${fmt(zeroMBs)} MB/s`);
console.log(JSON.stringify({ pageSize: P, pairs: PAIRS, node: process.version, rows, isZeroPageMBs: zeroMBs, sink: sink > 0 }));
