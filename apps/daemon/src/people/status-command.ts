// `mig status`, `mig watch` and `mig cancel`: one end's migration, looked at, followed or stopped.
import { Option, type Command } from 'commander';
import { Endpoint } from './endpoint.js';
import { CliError, EXIT } from './exit-codes.js';
import { followMigration, PROGRESS_MODES, type ProgressMode } from './follow.js';
import type { CliIo } from './io.js';
import { isEnded, isRunning } from './migration-watch.js';
import { describeStatus, type StatusFacts } from './status-view.js';
import type { ParsedArgs, Subcommand } from './subcommand.js';

const ADDR_HELP = "the QMP of mig-daemon or QEMU: unix:PATH or tcp:HOST:PORT";
const WATCH_MS = 1000;

/** The address from the argument, or the old `--qmp ADDR`. */
function address(args: ParsedArgs): string {
  const given = (args.positional[0] as string | undefined) ?? (args.options['qmp'] as string | undefined);
  if (given === undefined) throw new CliError('give the QMP address, e.g. mig status unix:/tmp/src.qmp', EXIT.usage);
  return given;
}

function withAddress(cmd: Command): Command {
  return cmd.argument('[qmp-addr]', ADDR_HELP).addOption(new Option('--qmp <qmp-addr>', 'old form of the address argument').hideHelp());
}

async function facts(end: Endpoint): Promise<StatusFacts> {
  const info = await end.queryMigrate();
  const progress = await end.queryProgress();
  return { address: end.address, product: end.product, runstate: await end.runState(), info, progress };
}

async function withEndpoint(args: ParsedArgs, fn: (end: Endpoint) => Promise<number>): Promise<number> {
  const end = await Endpoint.connect('source', address(args));
  try {
    return await fn(end);
  } finally {
    await end.close();
  }
}

/** --watch: until a running migration ends (waiting for one to start if none runs), or Ctrl-C. */
async function watchStatus(end: Endpoint, json: boolean, io: CliIo): Promise<number> {
  let sawRunning = false;
  let stopped = false;
  const stop = io.onInterrupt(() => {
    stopped = true;
  });
  try {
    for (;;) {
      const f = await facts(end);
      const status = f.info.status ?? 'none';
      if (json) io.stdout.write(`${JSON.stringify({ time: io.now(), runstate: f.runstate, queryMigrate: f.info, progress: f.progress ?? null })}\n`);
      else io.stdout.write(`${io.stdout.isTTY ? '\x1b[H\x1b[2J' : ''}${describeStatus(f)}${io.stdout.isTTY ? '' : '\n'}`);
      sawRunning ||= isRunning(status);
      if (stopped) return EXIT.interrupted;
      if (sawRunning && isEnded(status)) return EXIT.ok;
      await io.sleep(WATCH_MS);
    }
  } finally {
    stop();
  }
}

export const statusCommand: Subcommand = {
  name: 'status',
  summary: "an end's run state and migration: RAM, disk, XBZRLE, times, progress",
  define: (cmd) => {
    withAddress(cmd)
      .option('--watch', 'refresh every second until a running migration ends')
      .option('--json', 'query-migrate (and mig-daemon\'s progress) as JSON; with --watch one object a line');
  },
  run: (args, io) =>
    withEndpoint(args, async (end) => {
      const json = args.options['json'] === true;
      if (args.options['watch'] === true) return watchStatus(end, json, io);
      const f = await facts(end);
      io.stdout.write(json ? `${JSON.stringify({ runstate: f.runstate, queryMigrate: f.info, progress: f.progress ?? null })}\n` : describeStatus(f));
      return EXIT.ok;
    }),
};

export const watchCommand: Subcommand = {
  name: 'watch',
  summary: 'follow the running migration with the live bar until it ends (exit 0 if it completed)',
  define: (cmd) => {
    withAddress(cmd).addOption(new Option('--progress <mode>', 'bar, lines or none; auto: bar on a terminal').default('auto'));
  },
  run: (args, io) =>
    withEndpoint(args, async (end) => {
      const given = args.options['progress'] as string;
      if (given !== 'auto' && !PROGRESS_MODES.includes(given as ProgressMode)) throw new CliError(`--progress ${given}: expected auto, bar, lines or none`, EXIT.usage);
      const mode = given === 'auto' ? (io.stdout.isTTY ? 'bar' : 'lines') : (given as ProgressMode);
      const last = await followMigration({ source: end, io, mode, out: io.stdout });
      return last.status === 'completed' ? EXIT.ok : EXIT.migrationFailed;
    }),
};

export const cancelCommand: Subcommand = {
  name: 'cancel',
  summary: 'cancel the running migration (migrate_cancel) and wait until it has stopped',
  define: (cmd) => {
    withAddress(cmd);
  },
  run: (args, io) =>
    withEndpoint(args, async (end) => {
      await end.run('migrate_cancel');
      io.stdout.write('cancel requested\n');
      const last = await followMigration({ source: end, io, mode: 'none', out: io.stdout });
      io.stdout.write(`migration: ${last.status}\n`);
      return last.status === 'cancelled' ? EXIT.ok : EXIT.migrationFailed;
    }),
};
