// `mig`: the command line for people. It talks QMP to mig-daemon or to QEMU and says what happens.
import { QmpClient, QmpError } from '@mig/qmp';
import { describeAdvice, describeMigration, formatBytes, type MigrationInfoLike, type ProgressLike } from './people/format.js';
import { parseSize } from './cli/size.js';

const USAGE = `usage: mig <command> --qmp unix:PATH|tcp:HOST:PORT [options]

commands:
  status                       run state of the guest and the state of its migration
  migrate URI [options]        start a migration to URI and follow it until it ends
      --bandwidth SIZE         max-bandwidth per second (e.g. 100M, 1G; default: the daemon's, 32M)
      --downtime-ms N          downtime-limit in milliseconds (default 300)
      --detach                 start it and return at once
  watch                        follow the current migration until it ends
  cancel                       cancel the current migration

URIs: tcp:HOST:PORT, unix:PATH, exec:COMMAND (the stream goes to the command's stdin)
Exit status: 0 when the migration completed (or the command succeeded), 1 when it failed or was cancelled,
2 for a usage error.`;

const COMMANDS = ['status', 'migrate', 'watch', 'cancel'];

interface CliArgs {
  command: string;
  positional: string[];
  flags: Map<string, string | true>;
}

function parseCliArgs(argv: readonly string[]): CliArgs {
  const flags = new Map<string, string | true>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg.startsWith('--')) {
      const [key, inline] = arg.slice(2).split('=', 2) as [string, string | undefined];
      if (inline !== undefined) flags.set(key, inline);
      else if (key === 'detach' || key === 'help') flags.set(key, true);
      else {
        const value = argv[++i];
        if (value === undefined) throw new Error(`--${key} needs a value`);
        flags.set(key, value);
      }
    } else positional.push(arg);
  }
  const [command = 'help', ...rest] = positional;
  return { command, positional: rest, flags };
}

async function follow(client: QmpClient, out: NodeJS.WriteStream): Promise<string> {
  const tty = out.isTTY === true;
  let lastPrinted = 0;
  let hasProgress = true; // QEMU has no x-mig-query-progress: then only query-migrate's figures
  let adviceShown = false;
  for (;;) {
    const info = (await client.execute('query-migrate')) as MigrationInfoLike;
    const status = info.status ?? 'none';
    const terminal = ['completed', 'failed', 'cancelled', 'none'].includes(status);
    let progress: ProgressLike | undefined;
    if (hasProgress) {
      try {
        progress = (await client.execute('x-mig-query-progress')) as ProgressLike;
      } catch {
        hasProgress = false;
      }
    }
    if (progress && !adviceShown && !progress.converging && status === 'active') {
      adviceShown = true;
      out.write(`${tty ? '\r\x1b[K' : ''}${describeAdvice(progress)}\n`);
    }
    const line = describeMigration(info, progress);
    if (tty) out.write(`\r\x1b[K${line}`);
    else if (terminal || Date.now() - lastPrinted >= 1000) {
      out.write(`${line}\n`);
      lastPrinted = Date.now();
    }
    if (terminal) {
      if (tty) out.write('\n');
      return status;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export async function main(argv: readonly string[]): Promise<void> {
  let args: CliArgs;
  try {
    args = parseCliArgs(argv);
  } catch (err) {
    process.stderr.write(`mig: ${(err as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (args.command === 'help' || args.flags.has('help')) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!COMMANDS.includes(args.command)) {
    process.stderr.write(`mig: unknown command '${args.command}'\n${USAGE}\n`);
    process.exit(2);
  }
  const endpoint = args.flags.get('qmp');
  if (typeof endpoint !== 'string') {
    process.stderr.write(`mig: --qmp ENDPOINT is required\n${USAGE}\n`);
    process.exit(2);
  }
  let client: QmpClient;
  try {
    client = await QmpClient.connect(endpoint, { timeoutMs: 5000 });
  } catch (err) {
    process.stderr.write(`mig: cannot reach QMP at ${endpoint}: ${(err as Error).message}\n`);
    process.exit(1);
  }
  try {
    process.exitCode = await run(client, args);
  } catch (err) {
    const what = err instanceof QmpError ? `${err.errorClass}: ${err.desc}` : (err as Error).message;
    process.stderr.write(`mig: ${what}\n`);
    process.exitCode = 1;
  } finally {
    await client.close();
  }
}

async function run(client: QmpClient, args: CliArgs): Promise<number> {
  const out = process.stdout;
  switch (args.command) {
    case 'status': {
      const status = (await client.execute('query-status')) as { status: string; running: boolean };
      const info = (await client.execute('query-migrate')) as MigrationInfoLike;
      out.write(`guest: ${status.status}\n${describeMigration(info)}\n`);
      return 0;
    }
    case 'migrate': {
      const uri = args.positional[0];
      if (!uri) throw new Error('migrate needs a destination URI, e.g. tcp:127.0.0.1:4444');
      const parameters: Record<string, number> = {};
      const bandwidth = args.flags.get('bandwidth');
      if (typeof bandwidth === 'string') parameters['max-bandwidth'] = parseSize(bandwidth, 'b');
      const downtime = args.flags.get('downtime-ms');
      if (typeof downtime === 'string') parameters['downtime-limit'] = Number(downtime);
      if (Object.keys(parameters).length > 0) await client.execute('migrate-set-parameters', parameters);
      await client.execute('migrate', { uri });
      const ram = (await client.execute('query-migrate')) as MigrationInfoLike;
      out.write(`migrating to ${uri}${ram.ram?.total ? ` (${formatBytes(ram.ram.total)} of RAM)` : ''}\n`);
      if (args.flags.has('detach')) return 0;
      return (await follow(client, out)) === 'completed' ? 0 : 1;
    }
    case 'watch':
      return (await follow(client, out)) === 'completed' ? 0 : 1;
    case 'cancel':
      await client.execute('migrate_cancel');
      out.write('cancel requested\n');
      return (await follow(client, out)) === 'cancelled' ? 0 : 1;
    default:
      throw new Error(`unknown command '${args.command}'\n${USAGE}`);
  }
}
