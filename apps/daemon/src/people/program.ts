// mig's command line, built with commander from the subcommand table: --help on every command, usage errors
// as exit 2, the commands' own exit statuses passed through.
import { Command, CommanderError } from 'commander';
import { SUBCOMMANDS, TOOLS } from './commands.js';
import { CliError, EXIT } from './exit-codes.js';
import type { CliIo } from './io.js';
import { MIG_VERSION, QEMU_VERSION } from './version.js';

const EXIT_HELP = `
Exit status: 0 success (migrate: both ends completed), 1 the migration failed, was cancelled or did not
complete, 2 usage error, 3 a QMP endpoint cannot be reached, 4 an end refused a command, 130 Ctrl-C.
Run 'mig <command> --help' for a command's options.`;

/** Builds the program; `setCode` receives the exit status of the command that ran. */
export function buildProgram(io: CliIo, setCode: (code: number) => void): Command {
  const program = new Command('mig')
    .description(`mig: live migration of guests over QEMU ${QEMU_VERSION}'s migration stream and QMP, for people and scripts`)
    .version(`${MIG_VERSION} (speaks QEMU ${QEMU_VERSION})`, '-V, --version', 'print mig\'s version and the QEMU version it speaks')
    .enablePositionalOptions()
    .exitOverride()
    .showHelpAfterError("(run 'mig --help' for the commands, 'mig <command> --help' for one's options)")
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .addHelpText('after', EXIT_HELP);
  for (const sub of SUBCOMMANDS) {
    const cmd = program.command(sub.name).description(sub.summary).exitOverride();
    sub.define(cmd);
    cmd.action(async (...actionArgs: unknown[]) => {
      const command = actionArgs.at(-1) as Command;
      setCode(await sub.run({ positional: command.processedArgs as unknown[], options: command.opts() }, io));
    });
  }
  for (const tool of TOOLS) {
    program
      .command(tool.name)
      .description(tool.summary)
      .helpOption(false)
      .passThroughOptions()
      .allowUnknownOption()
      .allowExcessArguments()
      .argument('[args...]', `arguments of mig ${tool.name} (see mig ${tool.name} --help)`)
      .action(async (argv: string[]) => setCode(await tool.run(argv, io)));
  }
  return program;
}

/** Runs mig with `argv` (without node and the script); returns the exit status. */
export async function runMig(argv: readonly string[], io: CliIo): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  try {
    if (argv.length === 0) {
      program.outputHelp();
      return EXIT.usage;
    }
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end this way too, with commander's exit code 0
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof CliError) {
      io.stderr.write(`mig: ${err.message}\n`);
      return err.exitCode;
    }
    io.stderr.write(`mig: ${(err as Error).message}\n`);
    return EXIT.migrationFailed;
  }
}
