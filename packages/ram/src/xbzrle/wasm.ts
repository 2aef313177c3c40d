import { BufferViews, refreshViews } from './views.js';
import { xbzrleWasmBytes } from './wasm-kernels.js';

/**
 * WebAssembly (SIMD) XBZRLE kernels and the memories they run in. Each `XbzrleWasm` owns one
 * fixed-size WebAssembly.Memory (never grown, so views of it stay valid) laid out as
 *   [0, SCRATCH)            scratch: old page, new page, output, decode input, decode page
 *   [SCRATCH, SCRATCH+extra) optional arena (the XBZRLE page cache keeps its pages there)
 * Pages already inside a memory are used in place; others are copied into the scratch areas.
 * `wasmSupported` is false when the engine lacks WebAssembly SIMD; callers then use the TS code.
 */

/** Largest page size the kernels take (the 2-byte ULEB128 limit + 1). */
export const WASM_MAX_PAGE = 16384;
const SLACK = 64;
const OLD = 0;
const NEW = OLD + WASM_MAX_PAGE + SLACK;
const OUT = NEW + WASM_MAX_PAGE + SLACK;
/** Output area: any encoding of a p-byte page is at most 1.5p + 2 bytes, so a limit above 2p changes nothing. */
const OUT_MAX = 2 * WASM_MAX_PAGE + 4;
const SRC = OUT + OUT_MAX + SLACK;
/** Decode inputs longer than this are decoded by the TS decoder. */
export const SRC_MAX = 2 * WASM_MAX_PAGE + 4;
const PAGE = SRC + SRC_MAX + SLACK;
/** Bytes of scratch at the start of every kernel memory (a multiple of 64 KiB). */
export const SCRATCH = Math.ceil((PAGE + WASM_MAX_PAGE + SLACK) / 65536) * 65536;
/** Arenas above this many bytes stay ordinary Uint8Arrays. */
export const WASM_MAX_ARENA = 1024 * 1024 * 1024;

interface Kernels {
  encode(o: number, n: number, p: number, out: number, lim: number): number;
  decode(src: number, len: number, dst: number, p: number): number;
}

/** The parts of the WebAssembly JS API used here (the package's type libraries do not declare it). */
interface WasmMemory { readonly buffer: ArrayBuffer }
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: object };
  Memory: new (desc: { initial: number; maximum: number }) => WasmMemory;
}
const WA = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

let module: object | null = null;
try {
  const bytes = xbzrleWasmBytes();
  if (WA && WA.validate(bytes)) module = new WA.Module(bytes);
} catch {
  module = null;
}

/** True when the SIMD kernels run on this engine. */
export const wasmSupported = module !== null;

/** One kernel instance and its memory. */
export class XbzrleWasm {
  readonly memory: WasmMemory;
  readonly ab: ArrayBuffer;
  readonly u8: Uint8Array;
  readonly buf: Buffer;
  readonly k: Kernels;
  readonly end: number;
  /** Where the optional arena starts (SCRATCH), and its length. */
  readonly arenaOff = SCRATCH;
  readonly arenaLen: number;

  constructor(arenaBytes = 0) {
    if (!module || !WA) throw new Error('xbzrle: WebAssembly SIMD is not available');
    const total = SCRATCH + arenaBytes;
    const pages = Math.ceil(total / 65536);
    this.memory = new WA.Memory({ initial: pages, maximum: pages });
    this.ab = this.memory.buffer;
    this.u8 = new Uint8Array(this.ab);
    this.buf = Buffer.from(this.ab);
    this.end = this.ab.byteLength;
    this.arenaLen = arenaBytes;
    const inst = new WA.Instance(module, { env: { memory: this.memory } });
    this.k = inst.exports as unknown as Kernels;
    owners.set(this.ab, this);
  }

  /** `len` bytes of the arena from `off` (valid for the life of this object: the memory never grows). */
  arena(off: number, len: number): Uint8Array {
    if (off < 0 || off + len > this.arenaLen) throw new RangeError(`xbzrle: arena range [${off}, ${off + len}) outside ${this.arenaLen} bytes`);
    return new Uint8Array(this.ab, this.arenaOff + off, len);
  }
}

const cmpOld = new BufferViews();
const cmpNew = new BufferViews();
const owners = new WeakMap<ArrayBufferLike, XbzrleWasm>();
let shared: XbzrleWasm | null = null;
let memoAb: ArrayBufferLike | null = null;
let memoW: XbzrleWasm | undefined;

function ownerOf(ab: ArrayBufferLike): XbzrleWasm | undefined {
  if (ab === memoAb) return memoW;
  const w = owners.get(ab);
  memoAb = ab;
  memoW = w;
  return w;
}

/** True when `ab` is the memory of a kernel instance (pages there are used in place). */
export function isKernelMemory(ab: ArrayBufferLike): boolean {
  return ownerOf(ab) !== undefined;
}

function sharedKernels(): XbzrleWasm {
  return (shared ??= new XbzrleWasm(0));
}

/** Copies `len` bytes into a kernel memory at `at` (a byte loop when short, native copy otherwise). */
function copyIn(w: XbzrleWasm, src: Uint8Array, off: number, at: number, len: number): void {
  if (len <= 32) {
    const u8 = w.u8;
    for (let k = 0; k < len; k++) u8[at + k] = src[off + k]!;
  } else {
    w.u8.set(src.length === len && off === 0 ? src : src.subarray(off, off + len), at);
  }
}

/**
 * The encoder of encode.ts on the SIMD kernels; arguments already checked by the caller.
 * @returns as xbzrleEncode; -2 when a run is longer than 16383 bytes.
 */
export function encodeWasm(
  oldBuf: Uint8Array, oldOff: number, newBuf: Uint8Array, newOff: number, p: number,
  out: Uint8Array, outOff: number, outLimit: number,
): number {
  const ob = oldBuf.buffer;
  const nb = newBuf.buffer;
  const w = ownerOf(ob) ?? ownerOf(nb) ?? sharedKernels();
  if ((ob !== w.ab || nb !== w.ab) && outLimit >= 2) {
    // a page must be copied in: first ask a native compare whether the pages are identical (it stops
    // at the first difference), so unchanged pages cost no copies (0 needs room for QEMU's first d + 2 check)
    const oA = oldBuf.byteOffset + oldOff;
    const nA = newBuf.byteOffset + newOff;
    if (ob !== cmpOld.ab || cmpOld.u8.length < oA + p) refreshViews(cmpOld, ob);
    if (nb !== cmpNew.ab || cmpNew.u8.length < nA + p) refreshViews(cmpNew, nb);
    if (cmpOld.buf.compare(cmpNew.buf, nA, nA + p, oA, oA + p) === 0) return 0;
  }
  let o: number;
  if (ob === w.ab) o = oldBuf.byteOffset + oldOff;
  else { copyIn(w, oldBuf, oldOff, OLD, p); o = OLD; }
  let n: number;
  if (nb === w.ab) n = newBuf.byteOffset + newOff;
  else { copyIn(w, newBuf, newOff, NEW, p); n = NEW; }
  const r = w.k.encode(o, n, p, OUT, outLimit < OUT_MAX ? outLimit : OUT_MAX);
  if (r > 0) {
    if (r <= 48) {
      const u8 = w.u8;
      for (let k = 0; k < r; k++) out[outOff + k] = u8[OUT + k]!;
    } else {
      out.set(w.u8.subarray(OUT, OUT + r), outOff); // one short-lived view: Node 20 has no allocation-free copy
    }
  }
  return r;
}

/**
 * The decoder of decode.ts on the SIMD kernels; arguments already checked by the caller.
 * @returns the end of the last change, -1 on a fault (nothing is known about `dest` then, except that
 * only bytes of its page were written), or -3 when this path does not take the input (too long).
 */
export function decodeWasm(
  src: Uint8Array, srcOff: number, srcLen: number, dest: Uint8Array, destOff: number, p: number,
): number {
  const db = dest.buffer;
  const w = ownerOf(db) ?? ownerOf(src.buffer) ?? sharedKernels();
  let s: number;
  if (src.buffer === w.ab) s = src.byteOffset + srcOff;
  else {
    if (srcLen > SRC_MAX) return -3;
    copyIn(w, src, srcOff, SRC, srcLen);
    s = SRC;
  }
  if (db === w.ab) return w.k.decode(s, srcLen, dest.byteOffset + destOff, p);
  // the page is elsewhere: patch a copy of it and copy back up to the end of the last change
  copyIn(w, dest, destOff, PAGE, p);
  const r = w.k.decode(s, srcLen, PAGE, p);
  if (r > 0) dest.set(w.u8.subarray(PAGE, PAGE + r), destOff);
  return r;
}
