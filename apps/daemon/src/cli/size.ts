// QEMU's size syntax (qemu_strtosz): a number with an optional B/K/M/G/T/P/E suffix, binary units.
const UNITS: Record<string, number> = { b: 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50, e: 2 ** 60 };

/** Parses `text` as a size; a bare number means `defaultUnit` (bytes for -object, MiB for -m). */
export function parseSize(text: string, defaultUnit: 'b' | 'm'): number {
  const match = /^(\d+(?:\.\d+)?)([bkmgtpe])?$/i.exec(text.trim());
  if (!match) throw new Error(`invalid size '${text}' (expected a number with an optional K, M, G or T suffix)`);
  const unit = (match[2] ?? defaultUnit).toLowerCase();
  const bytes = Number(match[1]) * (UNITS[unit] ?? 1);
  if (!Number.isSafeInteger(bytes)) throw new Error(`size '${text}' is not a whole number of bytes below 2^53`);
  return bytes;
}
