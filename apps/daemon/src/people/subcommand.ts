// The shape of a `mig` subcommand: how it declares itself to commander and how it runs. The table of them is
// in commands.ts; program.ts builds the command line from it.
import type { Command } from 'commander';
import type { CliIo } from './io.js';

export interface ParsedArgs {
  /** The declared arguments, in order (a variadic one as an array). */
  positional: unknown[];
  options: Record<string, unknown>;
}

/** A command mig parses itself (commander): --help comes from what `define` declares. */
export interface Subcommand {
  name: string;
  summary: string;
  define(cmd: Command): void;
  /** Returns the exit status (exit-codes.ts). */
  run(args: ParsedArgs, io: CliIo): Promise<number>;
}

/**
 * A command that parses its own arguments (`mig analyze`, `mig report`): it gets everything after its name,
 * --help included, and answers with an exit status.
 */
export interface ExternalTool {
  name: string;
  summary: string;
  run(argv: string[], io: CliIo): Promise<number>;
}
