// Fuzzing the XBZRLE decoder with QEMU 7.2's own encodings (test/fixtures/xbzrle, 3059 vectors) as seeds,
// mutated (bit flips, byte inserts/deletes, truncation, splices between vectors, records dropped/repeated/
// moved). Properties: each decoder (default, TS, wasm) either returns an end within the page or throws an
// XbzrleDecodeError whose offset lies in the input; none writes outside the page; all three agree on the
// outcome and on the page bytes. `pnpm fuzz` runs it longer (FUZZ_RUNS).
import { beforeAll, describe, expect, it } from 'vitest';
import { checkErrorChain, describeMutation, fc, mutate, mutationArb, runFuzz, type SeedInput } from '@mig/fuzz';
import { loadVectors, type Vector } from '../../test/qemu-vectors.js';
import { XbzrleDecodeError, xbzrleDecode, xbzrleDecodeTs, xbzrleDecodeWasm } from './decode.js';

const P = 4096;
const GUARD = 64;
const DECODERS = [['default', xbzrleDecode], ['ts', xbzrleDecodeTs], ['wasm', xbzrleDecodeWasm]] as const;

/** Where the records (ZLEN, NZLEN, data) of a well-formed encoding start. */
function recordStarts(enc: Uint8Array): number[] {
  const starts: number[] = [];
  const uleb = (i: number): [number, number] => (enc[i]! < 0x80 ? [enc[i]!, 1] : [(enc[i]! & 0x7f) | (enc[i + 1]! << 7), 2]);
  let i = 0;
  while (i + 1 < enc.length) {
    starts.push(i);
    i += uleb(i)[1];
    const [n, w] = uleb(i);
    i += w + n;
  }
  return starts;
}

type Outcome = { end: number } | { fault: string; offset: number };

function decodeWith(decode: (typeof DECODERS)[number][1], old: Uint8Array, src: Uint8Array, page: Uint8Array): Outcome {
  page.fill(0x3c, 0, GUARD).fill(0x3c, GUARD + P);
  page.set(old, GUARD);
  try {
    return { end: decode(src, 0, src.length, page, GUARD, P) };
  } catch (e) {
    const crash = checkErrorChain(e, { top: ['XbzrleDecodeError'], allowed: ['XbzrleDecodeError'] });
    if (crash !== undefined) throw new Error(`decoder crashed: ${crash}`, { cause: e });
    const err = e as XbzrleDecodeError;
    return { fault: err.fault, offset: err.offset };
  }
}

let vectors: Vector[] = [];
let seeds: SeedInput[] = [];
beforeAll(() => {
  vectors = loadVectors().filter((v) => v.pageSize === P && v.encLen > 0);
  seeds = vectors.map((v) => ({ name: `vector ${v.index}`, bytes: v.enc, boundaries: recordStarts(v.enc) }));
});

describe('XBZRLE decoder fuzz (QEMU vectors as seeds)', () => {
  it('every seed decodes to its new page with each decoder (control)', () => {
    expect(seeds.length).toBeGreaterThan(2000);
    const page = new Uint8Array(P + 2 * GUARD);
    for (const v of vectors) {
      for (const [name, decode] of DECODERS) {
        expect(decodeWith(decode, v.old, v.enc, page), `${name} vector ${v.index}`).toHaveProperty('end');
        expect(Buffer.compare(page.subarray(GUARD, GUARD + P), v.neu), `${name} vector ${v.index}`).toBe(0);
      }
    }
  });

  it('mutated QEMU encodings: typed faults with input offsets, no write outside the page, decoders agree', async () => {
    const pages = DECODERS.map(() => new Uint8Array(P + 2 * GUARD));
    const seen = { ok: 0, fault: 0 };
    const input = fc.record({ seed: fc.nat(), mutations: fc.array(mutationArb(8), { minLength: 1, maxLength: 4 })});
    const property = fc.property(input, ({ seed, mutations }) => {
      const base = seeds[seed % seeds.length]!;
      const old = vectors[seed % vectors.length]!.old;
      const donors = [0, 1, 2, 3, 4, 5, 6, 7].map((k) => seeds[(seed + 1 + k * 397) % seeds.length]!);
      const src = mutate(base, mutations, donors).bytes;
      const what = `${base.name}: ${mutations.map(describeMutation).join('; ')}`;
      const outcomes = DECODERS.map(([, decode], k) => decodeWith(decode, old, src, pages[k]!));
      for (let k = 0; k < DECODERS.length; k++) {
        const page = pages[k]!;
        for (let g = 0; g < GUARD; g++) {
          if (page[g] !== 0x3c || page[GUARD + P + g] !== 0x3c) throw new Error(`${DECODERS[k]![0]} wrote outside the page: ${what}`);
        }
        expect(outcomes[k], `${DECODERS[k]![0]} vs ts: ${what}`).toEqual(outcomes[1]);
        expect(Buffer.compare(page, pages[1]!), `${DECODERS[k]![0]} page vs ts: ${what}`).toBe(0);
      }
      const o = outcomes[0]!;
      if ('end' in o) {
        expect(o.end).toBeGreaterThanOrEqual(0);
        expect(o.end).toBeLessThanOrEqual(P);
        seen.ok++;
      } else {
        expect(o.offset).toBeGreaterThanOrEqual(0);
        expect(o.offset).toBeLessThanOrEqual(src.length);
        seen.fault++;
      }
    });
    const result = await runFuzz('xbzrle-decode', 2000, property);
    if (result.runs >= 2000) expect(seen.fault).toBeGreaterThan(100);
    if (result.runs >= 2000) expect(seen.ok).toBeGreaterThan(100);
  }, 600_000);
});
