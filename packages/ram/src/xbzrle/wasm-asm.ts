/**
 * A tiny WebAssembly assembler: enough of the binary format for the XBZRLE kernels (one imported
 * memory, i32/i64/v128 locals, structured control flow, the scalar, SIMD and bulk-memory instructions
 * listed below). Function bodies are written as flat WAT-style instruction text ("local.get $i",
 * "br_if $done", "v128.load offset=16"), so the kernels stay readable and need no toolchain: the
 * module is assembled in memory when the package is loaded (a few hundred microseconds) and validated
 * by the engine.
 */

type ValType = 'i32' | 'i64' | 'v128';
const VALTYPE: Record<ValType, number> = { i32: 0x7f, i64: 0x7e, v128: 0x7b };

export interface WasmFunc {
  name: string;
  params: Array<[string, ValType]>;
  result: ValType | null;
  locals: Array<[string, ValType]>;
  /** Flat instruction text; `;;` starts a comment. */
  body: string;
}

type Imm = 'none' | 'local' | 'label' | 'mem' | 'i32' | 'i64' | 'block' | 'v128' | 'lane';

/** mnemonic -> [opcode bytes, immediate kind] */
const OPS: Record<string, [number[], Imm]> = {
  unreachable: [[0x00], 'none'],
  nop: [[0x01], 'none'],
  block: [[0x02], 'block'],
  loop: [[0x03], 'block'],
  if: [[0x04], 'block'],
  else: [[0x05], 'none'],
  end: [[0x0b], 'none'],
  br: [[0x0c], 'label'],
  br_if: [[0x0d], 'label'],
  return: [[0x0f], 'none'],
  drop: [[0x1a], 'none'],
  select: [[0x1b], 'none'],
  'local.get': [[0x20], 'local'],
  'local.set': [[0x21], 'local'],
  'local.tee': [[0x22], 'local'],
  'i32.load': [[0x28], 'mem'],
  'i64.load': [[0x29], 'mem'],
  'i32.load8_u': [[0x2d], 'mem'],
  'i32.load16_u': [[0x2f], 'mem'],
  'i32.store': [[0x36], 'mem'],
  'i64.store': [[0x37], 'mem'],
  'i32.store8': [[0x3a], 'mem'],
  'i32.store16': [[0x3b], 'mem'],
  'i32.const': [[0x41], 'i32'],
  'i64.const': [[0x42], 'i64'],
  'i32.eqz': [[0x45], 'none'],
  'i32.eq': [[0x46], 'none'],
  'i32.ne': [[0x47], 'none'],
  'i32.lt_s': [[0x48], 'none'],
  'i32.lt_u': [[0x49], 'none'],
  'i32.gt_s': [[0x4a], 'none'],
  'i32.gt_u': [[0x4b], 'none'],
  'i32.le_s': [[0x4c], 'none'],
  'i32.le_u': [[0x4d], 'none'],
  'i32.ge_s': [[0x4e], 'none'],
  'i32.ge_u': [[0x4f], 'none'],
  'i64.eqz': [[0x50], 'none'],
  'i64.eq': [[0x51], 'none'],
  'i64.ne': [[0x52], 'none'],
  'i32.clz': [[0x67], 'none'],
  'i32.ctz': [[0x68], 'none'],
  'i32.add': [[0x6a], 'none'],
  'i32.sub': [[0x6b], 'none'],
  'i32.mul': [[0x6c], 'none'],
  'i32.and': [[0x71], 'none'],
  'i32.or': [[0x72], 'none'],
  'i32.xor': [[0x73], 'none'],
  'i32.shl': [[0x74], 'none'],
  'i32.shr_s': [[0x75], 'none'],
  'i32.shr_u': [[0x76], 'none'],
  'i64.ctz': [[0x7a], 'none'],
  'i64.add': [[0x7c], 'none'],
  'i64.and': [[0x83], 'none'],
  'i64.or': [[0x84], 'none'],
  'i64.xor': [[0x85], 'none'],
  'i64.shl': [[0x86], 'none'],
  'i64.shr_u': [[0x88], 'none'],
  'i32.wrap_i64': [[0xa7], 'none'],
  'i64.extend_i32_u': [[0xad], 'none'],
  'memory.copy': [[0xfc, 10, 0, 0], 'none'],
  'memory.fill': [[0xfc, 11, 0], 'none'],
  // SIMD (0xfd prefix; sub-opcodes are LEB128 u32, all below 128 here except where noted)
  'v128.load': [[0xfd, 0x00], 'mem'],
  'v128.load64_zero': [[0xfd, 0x5d], 'mem'],
  'v128.store': [[0xfd, 0x0b], 'mem'],
  'v128.const': [[0xfd, 0x0c], 'v128'],
  'i8x16.splat': [[0xfd, 0x0f], 'none'],
  'i8x16.eq': [[0xfd, 0x23], 'none'],
  'i8x16.ne': [[0xfd, 0x24], 'none'],
  'i8x16.lt_u': [[0xfd, 0x26], 'none'],
  'v128.not': [[0xfd, 0x4d], 'none'],
  'v128.and': [[0xfd, 0x4e], 'none'],
  'v128.andnot': [[0xfd, 0x4f], 'none'],
  'v128.or': [[0xfd, 0x50], 'none'],
  'v128.xor': [[0xfd, 0x51], 'none'],
  'v128.bitselect': [[0xfd, 0x52], 'none'],
  'v128.any_true': [[0xfd, 0x53], 'none'],
  'i8x16.all_true': [[0xfd, 0x63], 'none'],
  'i8x16.bitmask': [[0xfd, 0x64], 'none'],
  'i64x2.extract_lane': [[0xfd, 0x1d], 'lane'],
};

function uleb(out: number[], v: number): void {
  do {
    let b = v & 0x7f;
    v = Math.floor(v / 128);
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
}

function sleb(out: number[], v: bigint): void {
  for (;;) {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

function natAlign(op: string): number {
  if (op.startsWith('v128')) return op === 'v128.load64_zero' ? 3 : 4;
  if (op.includes('8')) return 0;
  if (op.includes('16')) return 1;
  return op.startsWith('i64') ? 3 : 2;
}

function assembleBody(f: WasmFunc): number[] {
  const localIndex = new Map<string, number>();
  f.params.forEach(([n], i) => localIndex.set(n, i));
  f.locals.forEach(([n], i) => localIndex.set(n, f.params.length + i));
  const code: number[] = [];
  // local declarations, one entry per local (the engine merges them)
  uleb(code, f.locals.length);
  for (const [, t] of f.locals) { code.push(1, VALTYPE[t]); }
  const labels: Array<string | null> = []; // innermost last
  const toks = f.body.replace(/;;[^\n]*/g, '').split(/\s+/).filter((t) => t.length > 0);
  const fail = (msg: string): never => { throw new Error(`wasm-asm: ${f.name}: ${msg}`); };
  for (let k = 0; k < toks.length; k++) {
    const mn = toks[k]!;
    const spec = OPS[mn];
    if (!spec) fail(`unknown instruction '${mn}'`);
    const [bytes, imm] = spec!;
    code.push(...bytes);
    switch (imm) {
      case 'none':
        if (mn === 'end') { if (labels.length > 0) labels.pop(); }
        break;
      case 'block': {
        const next = toks[k + 1];
        if (next?.startsWith('$')) { labels.push(next); k++; } else labels.push(null);
        code.push(0x40); // void block type
        break;
      }
      case 'label': {
        const name = toks[++k] ?? fail(`${mn} needs a label`);
        const at = labels.lastIndexOf(name);
        if (at < 0) fail(`unknown label ${name}`);
        uleb(code, labels.length - 1 - at);
        break;
      }
      case 'local': {
        const name = toks[++k] ?? fail(`${mn} needs a local`);
        const idx = localIndex.get(name);
        if (idx === undefined) fail(`unknown local ${name}`);
        uleb(code, idx!);
        break;
      }
      case 'mem': {
        let offset = 0;
        const next = toks[k + 1];
        if (next?.startsWith('offset=')) { offset = Number(next.slice(7)); k++; }
        uleb(code, natAlign(mn));
        uleb(code, offset);
        break;
      }
      case 'i32': sleb(code, BigInt.asIntN(32, BigInt(toks[++k] ?? fail('i32.const needs a value')))); break;
      case 'i64': sleb(code, BigInt.asIntN(64, BigInt(toks[++k] ?? fail('i64.const needs a value')))); break;
      case 'lane': code.push(Number(toks[++k] ?? fail(`${mn} needs a lane`))); break;
      case 'v128': {
        // v128.const i8x16 b0 .. b15
        if (toks[++k] !== 'i8x16') fail('v128.const supports only the i8x16 form');
        for (let j = 0; j < 16; j++) code.push(Number(toks[++k] ?? fail('v128.const needs 16 lanes')) & 0xff);
        break;
      }
    }
  }
  if (labels.length !== 0) fail('unbalanced block/end');
  code.push(0x0b); // function end
  return code;
}

function section(out: number[], id: number, content: number[]): void {
  out.push(id);
  uleb(out, content.length);
  out.push(...content);
}

function name(out: number[], s: string): void {
  const b = Buffer.from(s, 'utf8');
  uleb(out, b.length);
  out.push(...b);
}

/** Assembles a module importing memory `env.memory` and exporting `funcs` by name. */
export function assembleModule(funcs: WasmFunc[]): Uint8Array {
  const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  // types: one per function
  const types: number[] = [];
  uleb(types, funcs.length);
  for (const f of funcs) {
    types.push(0x60);
    uleb(types, f.params.length);
    for (const [, t] of f.params) types.push(VALTYPE[t]);
    if (f.result) types.push(1, VALTYPE[f.result]); else types.push(0);
  }
  section(out, 1, types);
  const imports: number[] = [1];
  name(imports, 'env');
  name(imports, 'memory');
  imports.push(0x02, 0x00, 0x01); // memory, limits: min 1, no max
  section(out, 2, imports);
  const fns: number[] = [];
  uleb(fns, funcs.length);
  funcs.forEach((_, i) => uleb(fns, i));
  section(out, 3, fns);
  const exps: number[] = [];
  uleb(exps, funcs.length);
  funcs.forEach((f, i) => { name(exps, f.name); exps.push(0x00); uleb(exps, i); });
  section(out, 7, exps);
  const codes: number[] = [];
  uleb(codes, funcs.length);
  for (const f of funcs) {
    const body = assembleBody(f);
    uleb(codes, body.length);
    codes.push(...body);
  }
  section(out, 10, codes);
  return Uint8Array.from(out);
}
