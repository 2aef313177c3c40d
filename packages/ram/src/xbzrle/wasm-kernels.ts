import { assembleModule, type WasmFunc } from './wasm-asm.js';

/**
 * The XBZRLE kernels in WebAssembly (SIMD scans, 16-byte copies), as flat WAT text for `wasm-asm.ts`.
 * Same rules as the TypeScript encoder/decoder (encode.ts, decode.ts, docs/xbzrle-format.md).
 * All addresses are byte offsets in the one imported memory.
 */

/** Pushes a 16-byte compare of old/new at $i: leaves i8x16.bitmask of the *equal* bytes. */
const EQMASK = `
  local.get $o local.get $i i32.add v128.load
  local.get $n local.get $i i32.add v128.load
  i8x16.eq i8x16.bitmask`;

/** ULEB128 of $len (< 16384) at $out+$d with one 2-byte store (the caller checked d + 2 <= lim). */
const WRITE_LEN = `
  local.get $out local.get $d i32.add
  local.get $len
  local.get $len i32.const 0x7f i32.and i32.const 0x80 i32.or
  local.get $len i32.const 1 i32.shl i32.const 0x7f00 i32.and i32.or
  local.get $len i32.const 128 i32.lt_u
  select
  i32.store16
  local.get $d i32.const 1 i32.add local.get $len i32.const 127 i32.gt_u i32.add local.set $d`;

/**
 * encode(old, new, p, out, lim) -> encoded length, 0 (identical), -1 (overflow, QEMU's checks) or
 * -2 (a run longer than 16383 bytes, which QEMU asserts on). The output area must have 16 bytes of
 * slack past `out + lim` (short runs are copied with one 16-byte store). Reads stay inside the pages.
 */
const encode: WasmFunc = {
  name: 'encode',
  params: [['$o', 'i32'], ['$n', 'i32'], ['$p', 'i32'], ['$out', 'i32'], ['$lim', 'i32']],
  result: 'i32',
  locals: [['$d', 'i32'], ['$i', 'i32'], ['$zs', 'i32'], ['$ns', 'i32'], ['$len', 'i32'], ['$m', 'i32'],
    ['$k', 'i32'], ['$a', 'i32'], ['$b', 'i32']],
  body: `
  loop $rec
    ;; check 1: d + 2 <= lim before each zero run
    local.get $d i32.const 2 i32.add local.get $lim i32.gt_u
    if i32.const -1 return end
    local.get $i local.set $zs
    ;; ---- zero run: advance $i to the first differing byte ----
    block $zfound
      block $ztail
        ;; one 16-byte probe first (dense pages), then 64 bytes a step (sparse pages)
        local.get $i i32.const 16 i32.add local.get $p i32.gt_u br_if $ztail
        ${EQMASK} i32.const 0xffff i32.xor local.tee $m
        if local.get $i local.get $m i32.ctz i32.add local.set $i br $zfound end
        local.get $i i32.const 16 i32.add local.set $i
        block $z64out
          loop $z64
            ;; 128 bytes a step: OR of the XORs, one any_true
            local.get $i i32.const 128 i32.add local.get $p i32.gt_u br_if $z64out
            local.get $o local.get $i i32.add local.tee $a v128.load
            local.get $n local.get $i i32.add local.tee $b v128.load
            v128.xor
            local.get $a v128.load offset=16 local.get $b v128.load offset=16 v128.xor v128.or
            local.get $a v128.load offset=32 local.get $b v128.load offset=32 v128.xor v128.or
            local.get $a v128.load offset=48 local.get $b v128.load offset=48 v128.xor v128.or
            local.get $a v128.load offset=64 local.get $b v128.load offset=64 v128.xor v128.or
            local.get $a v128.load offset=80 local.get $b v128.load offset=80 v128.xor v128.or
            local.get $a v128.load offset=96 local.get $b v128.load offset=96 v128.xor v128.or
            local.get $a v128.load offset=112 local.get $b v128.load offset=112 v128.xor v128.or
            v128.any_true br_if $z64out
            local.get $i i32.const 128 i32.add local.set $i
            br $z64
          end
        end
        ;; the difference is in the next 128 bytes (or the page ends first): halve the walk below
        block $h64
          local.get $i i32.const 64 i32.add local.get $p i32.gt_u br_if $h64
          local.get $o local.get $i i32.add local.tee $a v128.load
          local.get $n local.get $i i32.add local.tee $b v128.load
          v128.xor
          local.get $a v128.load offset=16 local.get $b v128.load offset=16 v128.xor v128.or
          local.get $a v128.load offset=32 local.get $b v128.load offset=32 v128.xor v128.or
          local.get $a v128.load offset=48 local.get $b v128.load offset=48 v128.xor v128.or
          v128.any_true br_if $h64
          local.get $i i32.const 64 i32.add local.set $i
        end
        loop $z16
          local.get $i i32.const 16 i32.add local.get $p i32.gt_u br_if $ztail
          ${EQMASK} i32.const 0xffff i32.xor local.tee $m
          if local.get $i local.get $m i32.ctz i32.add local.set $i br $zfound end
          local.get $i i32.const 16 i32.add local.set $i
          br $z16
        end
      end
      loop $zb
        ;; unchanged to the end of the page: done (0 when the whole page is unchanged)
        local.get $i local.get $p i32.ge_u
        if local.get $d return end
        local.get $o local.get $i i32.add i32.load8_u
        local.get $n local.get $i i32.add i32.load8_u
        i32.ne br_if $zfound
        local.get $i i32.const 1 i32.add local.set $i
        br $zb
      end
    end
    local.get $i local.get $zs i32.sub local.set $len
    ${WRITE_LEN}
    ;; check 2: d + 2 <= lim after the ZLEN
    local.get $d i32.const 2 i32.add local.get $lim i32.gt_u
    if i32.const -1 return end
    ;; ---- nonzero run: advance $i to the first equal byte ($i itself differs) ----
    local.get $i local.set $ns
    local.get $i i32.const 1 i32.add local.set $i
    block $nfound
      block $ntail
        loop $n16
          local.get $i i32.const 16 i32.add local.get $p i32.gt_u br_if $ntail
          ${EQMASK} local.tee $m
          if local.get $i local.get $m i32.ctz i32.add local.set $i br $nfound end
          local.get $i i32.const 16 i32.add local.set $i
          br $n16
        end
      end
      loop $nb
        local.get $i local.get $p i32.ge_u br_if $nfound
        local.get $o local.get $i i32.add i32.load8_u
        local.get $n local.get $i i32.add i32.load8_u
        i32.eq br_if $nfound
        local.get $i i32.const 1 i32.add local.set $i
        br $nb
      end
    end
    local.get $i local.get $ns i32.sub local.tee $len
    i32.const 16383 i32.gt_u
    if i32.const -2 return end
    ${WRITE_LEN}
    ;; check 3: d + N <= lim
    local.get $d local.get $len i32.add local.get $lim i32.gt_u
    if i32.const -1 return end
    ;; ---- copy the N new bytes ----
    local.get $n local.get $ns i32.add local.set $a
    local.get $out local.get $d i32.add local.set $b
    local.get $len i32.const 16 i32.le_u
    if
      local.get $ns i32.const 16 i32.add local.get $p i32.le_u
      if
        ;; one 16-byte copy; the bytes past N land in the output slack and are overwritten later
        local.get $b local.get $a v128.load v128.store
      else
        i32.const 0 local.set $k
        loop $cb
          local.get $b local.get $k i32.add
          local.get $a local.get $k i32.add i32.load8_u
          i32.store8
          local.get $k i32.const 1 i32.add local.tee $k
          local.get $len i32.lt_u br_if $cb
        end
      end
    else
      i32.const 0 local.set $k
      loop $c16
        local.get $b local.get $k i32.add
        local.get $a local.get $k i32.add v128.load
        v128.store
        local.get $k i32.const 32 i32.add local.get $len i32.le_u
        local.get $k i32.const 16 i32.add local.set $k
        br_if $c16
      end
      ;; the last 16 bytes, overlapping what was copied
      local.get $b local.get $len i32.add i32.const 16 i32.sub
      local.get $a local.get $len i32.add i32.const 16 i32.sub v128.load
      v128.store
    end
    local.get $d local.get $len i32.add local.set $d
    local.get $i local.get $p i32.lt_u br_if $rec
  end
  local.get $d`,
};

/** Reads a ULEB128 at $src+$i into $v (2 input bytes are known to be there); -1 on a bad second byte. */
const READ_LEN = `
  local.get $src local.get $i i32.add i32.load16_u local.tee $v
  i32.const 0x80 i32.and
  if
    local.get $v i32.const 0x8000 i32.and if i32.const -1 return end
    local.get $v i32.const 0x7f i32.and
    local.get $v i32.const 8 i32.shr_u i32.const 7 i32.shl i32.or local.set $v
    local.get $i i32.const 2 i32.add local.set $i
  else
    local.get $v i32.const 0xff i32.and local.set $v
    local.get $i i32.const 1 i32.add local.set $i
  end`;

/**
 * decode(src, len, dst, p) -> page offset after the last change, or -1 on any fault (the caller
 * re-runs the TypeScript decoder for the exact error). Writes only inside [dst, dst + p); short runs
 * are patched with a masked 16-byte store or two overlapping exact copies.
 */
const decode: WasmFunc = {
  name: 'decode',
  params: [['$src', 'i32'], ['$len', 'i32'], ['$dst', 'i32'], ['$p', 'i32']],
  result: 'i32',
  locals: [['$i', 'i32'], ['$d', 'i32'], ['$v', 'i32'], ['$n', 'i32'], ['$k', 'i32'], ['$a', 'i32'], ['$b', 'i32'], ['$last', 'i32']],
  body: `
  block $done
    loop $rec
      local.get $i local.get $len i32.ge_u br_if $done
      local.get $len local.get $i i32.sub i32.const 2 i32.lt_u
      if i32.const -1 return end
      ;; ZLEN 0 is allowed only at input offset 0
      local.get $i local.set $k
      ${READ_LEN}
      local.get $v i32.eqz local.get $k i32.const 0 i32.ne i32.and
      if i32.const -1 return end
      local.get $d local.get $v i32.add local.tee $d
      local.get $p i32.gt_u
      if i32.const -1 return end
      local.get $len local.get $i i32.sub i32.const 2 i32.lt_u
      if i32.const -1 return end
      ${READ_LEN}
      local.get $v local.tee $n i32.eqz
      if i32.const -1 return end
      local.get $d local.get $n i32.add local.get $p i32.gt_u
      if i32.const -1 return end
      local.get $i local.get $n i32.add local.get $len i32.gt_u
      if i32.const -1 return end
      local.get $src local.get $i i32.add local.set $a
      local.get $dst local.get $d i32.add local.set $b
      local.get $n i32.const 16 i32.lt_u
      if
        ;; n < 16. A masked 16-byte read-modify-write of the page is branch-free, but stalls on store
        ;; forwarding when it reads bytes an earlier masked store wrote: use it only when d is at least
        ;; 16 past the previous one (and 16 bytes fit in the page and the input area); otherwise copy
        ;; with two overlapping exact copies (8+8, 4+4 or three single bytes).
        local.get $d local.get $last i32.ge_u
        local.get $d i32.const 16 i32.add local.get $p i32.le_u i32.and
        local.get $i i32.const 16 i32.add local.get $len i32.le_u i32.and
        if
          local.get $b
          local.get $a v128.load
          local.get $b v128.load
          v128.const i8x16 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15
          local.get $n i8x16.splat
          i8x16.lt_u
          v128.bitselect
          v128.store
          local.get $d i32.const 16 i32.add local.set $last
        else
          local.get $n i32.const 8 i32.ge_u
          if
            local.get $b local.get $a i64.load i64.store
            local.get $b local.get $n i32.add i32.const 8 i32.sub
            local.get $a local.get $n i32.add i32.const 8 i32.sub i64.load i64.store
          else
            local.get $n i32.const 4 i32.ge_u
            if
              local.get $b local.get $a i32.load i32.store
              local.get $b local.get $n i32.add i32.const 4 i32.sub
              local.get $a local.get $n i32.add i32.const 4 i32.sub i32.load i32.store
            else
              local.get $b local.get $a i32.load8_u i32.store8
              local.get $b local.get $n i32.const 1 i32.shr_u local.tee $k i32.add
              local.get $a local.get $k i32.add i32.load8_u i32.store8
              local.get $b local.get $n i32.add i32.const 1 i32.sub
              local.get $a local.get $n i32.add i32.const 1 i32.sub i32.load8_u i32.store8
            end
          end
        end
      else
        i32.const 0 local.set $k
        loop $c16
          local.get $b local.get $k i32.add
          local.get $a local.get $k i32.add v128.load
          v128.store
          local.get $k i32.const 32 i32.add local.get $n i32.le_u
          local.get $k i32.const 16 i32.add local.set $k
          br_if $c16
        end
        local.get $b local.get $n i32.add i32.const 16 i32.sub
        local.get $a local.get $n i32.add i32.const 16 i32.sub v128.load
        v128.store
      end
      local.get $i local.get $n i32.add local.set $i
      local.get $d local.get $n i32.add local.set $d
      br $rec
    end
  end
  local.get $d`,
};

/** The assembled module's bytes (built once, when this file is first imported). */
export function xbzrleWasmBytes(): Uint8Array {
  return assembleModule([encode, decode]);
}
