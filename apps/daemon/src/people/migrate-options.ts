// `mig migrate`'s options as commander hands them, checked and turned into what the command does.
import { parseSize } from '../cli/size.js';
import { CliError, EXIT } from './exit-codes.js';
import { PROGRESS_MODES, type ProgressMode } from './follow.js';
import type { CliIo } from './io.js';

export interface MigrateSettings {
  from: string;
  to: string;
  incomingQmp: string | undefined;
  /** What the target listens on (migrate-incoming): --listen, else the --to URI. */
  listen: string;
  bandwidth: number | undefined;
  downtimeMs: number | undefined;
  xbzrle: boolean;
  xbzrleCache: number | undefined;
  autoConverge: boolean;
  blk: boolean;
  inc: boolean;
  record: string | undefined;
  json: boolean;
  detach: boolean;
  mode: ProgressMode;
  /** Where the progress goes: stderr when stdout carries --json. */
  progressToStderr: boolean;
  /** How long to wait for the target to report the end once the source has, ms. */
  targetTimeoutMs: number;
}

const usage = (why: string): never => {
  throw new CliError(why, EXIT.usage);
};

/** "200M", "1G", "200M/s", a plain number of bytes. */
export function parseBandwidth(text: string): number {
  try {
    return parseSize(text.replace(/\/s$/i, ''), 'b');
  } catch (err) {
    return usage(`--bandwidth ${text}: ${(err as Error).message}`);
  }
}

function parseMs(flag: string, text: string): number {
  const v = Number(text.replace(/ms$/, ''));
  if (!Number.isInteger(v) || v < 0) usage(`${flag} ${text}: expected a whole number of milliseconds`);
  return v;
}

function progressMode(o: Record<string, unknown>, io: CliIo): ProgressMode {
  const given = o['progress'] as string | undefined;
  if (given === undefined || given === 'auto') return o['json'] ? 'none' : io.stdout.isTTY ? 'bar' : 'lines';
  if (!PROGRESS_MODES.includes(given as ProgressMode)) usage(`--progress ${given}: expected auto, bar, lines or none`);
  return given as ProgressMode;
}

/** The old form `mig migrate --qmp ADDR URI` still works; it says what the new one is. */
function endpoints(o: Record<string, unknown>, positional: unknown[], io: CliIo): { from: string; to: string } {
  const uri = positional[0] as string | undefined;
  const from = (o['from'] ?? o['qmp']) as string | undefined;
  const to = (o['to'] as string | undefined) ?? uri;
  if (o['qmp'] !== undefined || uri !== undefined) {
    if (o['from'] !== undefined && o['qmp'] !== undefined) usage('give --from or the old --qmp, not both');
    if (o['to'] !== undefined && uri !== undefined) usage(`give --to or a URI argument, not both (got --to ${String(o['to'])} and ${uri})`);
    io.stderr.write(`mig: note: 'mig migrate --qmp ADDR URI' is the old form of 'mig migrate --from ADDR --to URI'\n`);
  }
  if (from === undefined) usage("migrate needs the source's QMP address: --from unix:PATH|tcp:HOST:PORT");
  if (to === undefined) usage('migrate needs a destination URI: --to tcp:HOST:PORT|unix:PATH|exec:CMD|fd:NAME');
  return { from: from!, to: to! };
}

export function migrateSettings(o: Record<string, unknown>, positional: unknown[], io: CliIo): MigrateSettings {
  const { from, to } = endpoints(o, positional, io);
  if (o['blk'] && o['inc']) usage('give --blk or --inc, not both (--inc copies only what the top images allocate)');
  const downtime = (o['downtime'] ?? o['downtimeMs']) as string | undefined;
  const mode = progressMode(o, io);
  const incomingQmp = o['incomingQmp'] as string | undefined;
  if (o['listen'] !== undefined && incomingQmp === undefined) usage('--listen needs --incoming-qmp (it is what the target is told to listen on)');
  return {
    from, to, incomingQmp,
    listen: (o['listen'] as string | undefined) ?? to,
    bandwidth: o['bandwidth'] === undefined ? undefined : parseBandwidth(o['bandwidth'] as string),
    downtimeMs: downtime === undefined ? undefined : parseMs('--downtime', downtime),
    xbzrle: o['xbzrle'] === true,
    xbzrleCache: o['xbzrleCache'] === undefined ? undefined : parseBandwidth(o['xbzrleCache'] as string),
    autoConverge: o['autoConverge'] === true,
    blk: o['blk'] === true,
    inc: o['inc'] === true,
    record: o['record'] as string | undefined,
    json: o['json'] === true,
    detach: o['detach'] === true,
    mode,
    progressToStderr: o['json'] === true,
    targetTimeoutMs: o['targetTimeout'] === undefined ? 60_000 : parseMs('--target-timeout', o['targetTimeout'] as string),
  };
}
