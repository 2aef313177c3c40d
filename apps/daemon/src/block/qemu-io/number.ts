// qemu-io's numbers (offsets, lengths, -s/-l): QEMU 7.2's size syntax as qemu-io 7.2 takes it, checked by
// running it: decimal (leading zeros are not octal) or 0x hex, an optional '+', a fraction only with a unit
// suffix (1.5k; 1.0 is fine), one suffix letter b k m g t p e (binary units, either case), at most 2^63 - 1.
// A unit on a hex number works but is deprecated (QEMU warns).

export type QemuIoNumber = { value: number; warning?: string } | { error: string };

const SYNTAX = /^\+?(?:0x([0-9a-f]+)|(\d+)(?:\.(\d*))?)([bkmgtpe])?$/i;
const UNIT_SHIFT: Record<string, bigint> = { b: 0n, k: 10n, m: 20n, g: 30n, t: 40n, p: 50n, e: 60n };
const INT64_MAX = (1n << 63n) - 1n;

const nonNumeric = (text: string): QemuIoNumber => ({ error: `Parsing error: non-numeric argument, or extraneous/unrecognized suffix -- ${text}` });

/** The value of `text`, or qemu-io's error line for it. Values past 2^53 lose precision (they exceed any drive). */
export function parseQemuIoNumber(text: string): QemuIoNumber {
  const m = SYNTAX.exec(text);
  if (m === null) return nonNumeric(text);
  const [, hex, int, fraction, suffix] = m;
  const mul = 1n << (suffix === undefined ? 0n : UNIT_SHIFT[suffix.toLowerCase()]!);
  let value: bigint;
  if (hex !== undefined) {
    value = BigInt(`0x${hex}`) * mul;
  } else {
    const digits = fraction ?? '';
    const fractionNumerator = digits === '' ? 0n : BigInt(digits);
    if (mul === 1n && fractionNumerator !== 0n) return nonNumeric(text);
    value = BigInt(int!) * mul + (fractionNumerator * mul) / 10n ** BigInt(digits.length);
  }
  if (value > INT64_MAX) return { error: `Parsing error: argument too large -- ${text}` };
  const out: QemuIoNumber = { value: Number(value) };
  if (hex !== undefined && suffix !== undefined) out.warning = `warning: Using a multiplier suffix on hex numbers is deprecated: ${text}`;
  return out;
}
