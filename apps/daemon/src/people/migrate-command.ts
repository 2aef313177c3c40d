// `mig migrate`: sets both ends up, starts the migration, follows it with a live bar, ends with a summary.
import { Option, type Command } from 'commander';
import type { MigrationInfo } from '@mig/qmp';
import { Endpoint } from './endpoint.js';
import { CliError, EXIT } from './exit-codes.js';
import { followMigration } from './follow.js';
import type { CliIo } from './io.js';
import { isEnded } from './migration-watch.js';
import { migrateSettings, type MigrateSettings } from './migrate-options.js';
import { RECORD_VERSION, RecordWriter } from './record.js';
import type { ParsedArgs, Subcommand } from './subcommand.js';
import { summaryJson, summaryTable, type MigrationOutcome } from './summary.js';
import { MIG_VERSION } from './version.js';

function define(cmd: Command): void {
  cmd
    .argument('[uri]', 'old form: the destination URI (now --to)')
    .option('--from <qmp-addr>', "the source's QMP: unix:PATH or tcp:HOST:PORT")
    .option('--to <uri>', 'where the stream goes: tcp:HOST:PORT, unix:PATH, exec:COMMAND, fd:NAME')
    .option('--incoming-qmp <qmp-addr>', "the target's QMP: mig runs migrate-incoming there (unless it already listens) and waits for it to complete")
    .option('--listen <uri>', 'what the target listens on, when not the --to URI (e.g. tcp:0.0.0.0:4444)')
    .option('--bandwidth <size>', 'max-bandwidth per second, e.g. 100M, 1G (QEMU size syntax)')
    .option('--downtime <ms>', 'downtime-limit in milliseconds')
    .option('--xbzrle', 'capability xbzrle: pages sent again go as deltas')
    .option('--xbzrle-cache <size>', 'xbzrle-cache-size, e.g. 64M')
    .option('--auto-converge', 'capability auto-converge: slow the guest down when it dirties faster than the link')
    .addOption(new Option('--blk', 'block migration: every writable drive, whole').conflicts('inc'))
    .addOption(new Option('--inc', 'block migration: only what each drive\'s top image allocates').conflicts('blk'))
    .option('--record <file>', 'write a record of the migration (JSON lines, for mig report)')
    .option('--json', 'print the outcome as one JSON object on stdout (progress, if asked for, goes to stderr)')
    .addOption(new Option('--progress <mode>', 'bar (redrawn in place), lines (one a second), none; auto: bar on a terminal').default('auto'))
    .option('--detach', 'start the migration and return at once')
    .option('--target-timeout <ms>', 'how long to wait for the target to report the end after the source did (default 60000)')
    .addOption(new Option('--qmp <qmp-addr>', 'old form of --from').hideHelp())
    .addOption(new Option('--downtime-ms <ms>', 'old form of --downtime').hideHelp())
    .addHelpText('after', `
Exit status: 0 when the source reports completed and so does the target (when --incoming-qmp is given),
1 when the migration failed, was cancelled or the target did not complete, 2 for a usage error,
3 when a QMP endpoint cannot be reached, 4 when an end refuses a command, 130 after Ctrl-C (which cancels).

Example: mig migrate --from unix:/tmp/src.qmp --to tcp:10.0.0.2:4444 --incoming-qmp tcp:10.0.0.2:4445 --bandwidth 1G`);
}

async function run(args: ParsedArgs, io: CliIo): Promise<number> {
  const settings = migrateSettings(args.options, args.positional, io);
  const source = await Endpoint.connect('source', settings.from);
  let target: Endpoint | undefined;
  try {
    target = settings.incomingQmp === undefined ? undefined : await Endpoint.connect('target', settings.incomingQmp);
    if (target) await prepareTarget(target, settings.listen, io);
    await prepareSource(source, settings);
    return await migrate(source, target, settings, io);
  } finally {
    await source.close();
    await target?.close();
  }
}

/** migrate-incoming on a target that waits with `-incoming defer`; one that already listens is left alone. */
async function prepareTarget(target: Endpoint, listen: string, io: CliIo): Promise<void> {
  const runstate = await target.runState();
  if (runstate !== 'inmigrate') {
    throw new CliError(`the target is not waiting for a migration (run state ${runstate}): start it with -incoming defer or -incoming URI`, EXIT.refused);
  }
  const info = await target.queryMigrate();
  if (info['socket-address'] !== undefined && info['socket-address'].length > 0) return; // -incoming URI: listening
  if (info.status !== undefined && info.status !== 'none') {
    throw new CliError(`the target has an incoming migration already (${info.status})`, EXIT.refused);
  }
  await target.run('migrate-incoming', { uri: listen });
  io.stderr.write(`mig: the target listens on ${listen}\n`);
}

async function prepareSource(source: Endpoint, s: MigrateSettings): Promise<void> {
  const caps = [
    ...(s.xbzrle ? [{ capability: 'xbzrle', state: true }] : []),
    ...(s.autoConverge ? [{ capability: 'auto-converge', state: true }] : []),
  ];
  if (caps.length > 0) await source.run('migrate-set-capabilities', { capabilities: caps });
  const parameters: Record<string, number> = {};
  if (s.bandwidth !== undefined) parameters['max-bandwidth'] = s.bandwidth;
  if (s.downtimeMs !== undefined) parameters['downtime-limit'] = s.downtimeMs;
  if (s.xbzrleCache !== undefined) parameters['xbzrle-cache-size'] = s.xbzrleCache;
  if (Object.keys(parameters).length > 0) await source.run('migrate-set-parameters', parameters);
}

async function migrate(source: Endpoint, target: Endpoint | undefined, s: MigrateSettings, io: CliIo): Promise<number> {
  const record = s.record === undefined ? undefined : await openRecord(source, target, s, io);
  await source.run('migrate', { uri: s.to, ...(s.blk ? { blk: true } : {}), ...(s.inc ? { inc: true } : {}) });
  const migrateT = record?.at(io.now()) ?? null;
  if (s.detach) {
    io.stdout.write(s.json ? `${JSON.stringify({ result: 'started', uri: s.to })}\n` : `migration to ${s.to} started\n`);
    await record?.close();
    return EXIT.ok;
  }
  let interrupted = false;
  const stop = io.onInterrupt(() => {
    if (interrupted) return;
    interrupted = true;
    io.stderr.write('\nmig: cancelling the migration (migrate_cancel)\n');
    void source.client.execute('migrate_cancel').catch(() => {});
  });
  try {
    const out = s.progressToStderr ? (io.stderr as typeof io.stdout) : io.stdout;
    const last = await followMigration({ source, target, io, mode: s.mode, out, record });
    const targetInfo = target ? await awaitTarget(target, last.status === 'completed', s.targetTimeoutMs, io) : undefined;
    const outcome = outcomeOf(source, last.info, target, targetInfo, s, interrupted);
    io.stdout.write(s.json ? `${JSON.stringify(summaryJson(outcome))}\n` : summaryTable(outcome));
    record?.write(endLine(record.at(io.now()), migrateT, outcome));
    return outcome.exitCode;
  } finally {
    stop();
    await record?.close();
  }
}

/** The target's last word: polled until it ends when the source completed, else one look. */
async function awaitTarget(target: Endpoint, sourceCompleted: boolean, timeoutMs: number, io: CliIo): Promise<MigrationInfo> {
  const deadline = io.now() + timeoutMs;
  for (;;) {
    const info = await target.queryMigrate();
    if (!sourceCompleted || isEnded(info.status ?? 'none') || io.now() >= deadline) return info;
    await io.sleep(100);
  }
}

function outcomeOf(
  source: Endpoint, info: MigrationInfo, target: Endpoint | undefined, targetInfo: MigrationInfo | undefined,
  s: MigrateSettings, interrupted: boolean,
): MigrationOutcome {
  const srcStatus = info.status ?? 'none';
  const dstStatus = targetInfo?.status ?? 'none';
  const ok = srcStatus === 'completed' && (!target || dstStatus === 'completed');
  const result = ok
    ? target ? 'completed on both ends' : 'completed on the source (the target was not asked: no --incoming-qmp)'
    : srcStatus !== 'completed'
      ? `the source reports ${srcStatus}${info['error-desc'] ? `: ${info['error-desc']}` : ''}`
      : `the target reports ${dstStatus}${targetInfo?.['error-desc'] ? `: ${targetInfo['error-desc']}` : ''}`;
  return {
    exitCode: ok ? EXIT.ok : interrupted ? EXIT.interrupted : EXIT.migrationFailed,
    result,
    source: { address: source.address, product: source.product, info },
    target: target && targetInfo ? { address: target.address, product: target.product, info: targetInfo } : undefined,
    downtimeLimitMs: s.downtimeMs,
  };
}

async function openRecord(source: Endpoint, target: Endpoint | undefined, s: MigrateSettings, io: CliIo): Promise<RecordWriter> {
  const parameters = (await source.run('query-migrate-parameters')) as Record<string, unknown>;
  const time = io.now();
  try {
    return RecordWriter.open(s.record!, {
      type: 'start', version: RECORD_VERSION, time, startedAt: new Date(time).toISOString(), tool: MIG_VERSION,
      source: { address: source.address, product: source.product },
      target: target ? { address: target.address, product: target.product } : null,
      uri: s.to,
      options: {
        bandwidth: s.bandwidth ?? null, downtimeLimit: s.downtimeMs ?? null, xbzrle: s.xbzrle, autoConverge: s.autoConverge, blk: s.blk, inc: s.inc,
      },
      parameters,
    });
  } catch (err) {
    throw new CliError(`cannot write the record ${s.record}: ${(err as Error).message}`, EXIT.usage);
  }
}

function endLine(t: number, migrateT: number | null, o: MigrationOutcome) {
  const i = o.source.info;
  const total = i['total-time'];
  const downtime = i.downtime;
  return {
    type: 'end' as const, t, exitCode: o.exitCode, migrateT, source: i, target: o.target?.info ?? null,
    downtime: migrateT !== null && total !== undefined && downtime !== undefined
      ? { ms: downtime, fromT: migrateT + total - downtime, toT: migrateT + total } : null,
    totalTimeMs: total ?? null, setupTimeMs: i['setup-time'] ?? null, passes: i.ram?.['dirty-sync-count'] ?? 0,
  };
}

export const migrateCommand: Subcommand = {
  name: 'migrate',
  summary: 'migrate a guest: set both ends up, start, follow it with a live bar, end with a summary',
  define,
  run,
};
