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

const rows = [];
const out = new Uint8Array(P * PAIRS);
const lens = new Int32Array(PAIRS);
let sink = 0;
for (const kind of Object.keys(QEMU)) {
  const { old, neu } = makeCase(kind);
  for (let p = 0; p < PAIRS; p++) lens[p] = xbzrleEncode(old, p * P, neu, p * P, P, out, p * P, P);
  const overflow = lens.filter((l) => l < 0).length;
  const meanLen = lens.reduce((a, l) => a + Math.max(l, 0), 0) / PAIRS;
  const encMBs = timeLoop(() => {
    for (let p = 0; p < PAIRS; p++) sink += xbzrleEncode(old, p * P, neu, p * P, P, out, p * P, P);
  });
  let decMBs = null;
  if (QEMU[kind].dec) {
    const dest = old.slice();
    decMBs = timeLoop(() => {
      for (let p = 0; p < PAIRS; p++) sink += xbzrleDecode(out, p * P, lens[p], dest, p * P, P);
    });
    if (!Buffer.from(dest).equals(Buffer.from(neu))) throw new Error(`decode mismatch for ${kind}`);
  }
  rows.push({ pattern: kind, overflowPages: overflow, meanEncodedBytes: Math.round(meanLen), encMBs, decMBs, qemu: QEMU[kind] });
}

let zeroMBs = null;
if (typeof ram.isZeroPage === 'function') {
  const zeros = new Uint8Array(P * PAIRS);
  zeroMBs = timeLoop(() => {
    for (let p = 0; p < PAIRS; p++) sink += ram.isZeroPage(zeros, p * P) ? 1 : 0;
  });
}

const fmt = (n) => (n === null ? '-' : Math.round(n).toLocaleString('en-US'));
const ratio = (v, range) => (v === null || !range ? '-' : `${(v / range[1]).toFixed(2)}–${(v / range[0]).toFixed(2)}x`);
console.log(`XBZRLE on ${P}-byte pages, ${PAIRS} distinct pairs per pattern, node ${process.version}`);
console.log('pattern      ovf  avgLen   enc MB/s   QEMU enc       ratio        dec MB/s   QEMU dec        ratio');
for (const r of rows) {
  const qe = r.qemu.enc, qd = r.qemu.dec;
  console.log(
    `${r.pattern.padEnd(11)} ${String(r.overflowPages).padStart(4)} ${String(r.meanEncodedBytes).padStart(7)} ${fmt(r.encMBs).padStart(10)}   ${`${fmt(qe[0])}–${fmt(qe[1])}`.padEnd(13)} ${ratio(r.encMBs, qe).padEnd(12)} ${fmt(r.decMBs).padStart(9)}   ${qd ? `${fmt(qd[0])}–${fmt(qd[1])}`.padEnd(14) : '-'.padEnd(14)} ${ratio(r.decMBs, qd)}`,
  );
}
if (zeroMBs !== null) console.log(`isZeroPage: ${fmt(zeroMBs)} MB/s`);
console.log(JSON.stringify({ pageSize: P, pairs: PAIRS, node: process.version, rows, isZeroPageMBs: zeroMBs, sink: sink > 0 }));
