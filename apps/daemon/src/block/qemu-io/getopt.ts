// Option parsing as qemu-io gets it from glibc getopt: options may come after the operands (they are permuted
// to the front, so "write 0 -1" reads "-1" as an option), clusters ("-qz"), an option's argument attached
// ("-P0xab") or next, and "--" ending the options.

export interface ParsedOptions {
  /** In order given; `arg` for the letters that take one. */
  options: Array<{ letter: string; arg?: string }>;
  operands: string[];
}

/**
 * Parses `args` (after the command name) against `spec`, getopt's optstring ("qzP:" — a colon after a letter
 * that takes an argument). Returns the options and operands, or getopt's error line (`name: invalid option -- 'x'`).
 */
export function getopt(name: string, args: readonly string[], spec: string): ParsedOptions | { error: string } {
  const out: ParsedOptions = { options: [], operands: [] };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      out.operands.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      out.operands.push(arg);
      continue;
    }
    for (let j = 1; j < arg.length; j++) {
      const letter = arg[j]!;
      const at = spec.indexOf(letter);
      if (letter === ':' || at < 0) return { error: `${name}: invalid option -- '${letter}'` };
      if (spec[at + 1] !== ':') {
        out.options.push({ letter });
        continue;
      }
      const attached = arg.slice(j + 1);
      const value = attached !== '' ? attached : args[++i];
      if (value === undefined) return { error: `${name}: option requires an argument -- '${letter}'` };
      out.options.push({ letter, arg: value });
      break;
    }
  }
  return out;
}
