// mig-daemon's command line: the subset of QEMU's that a migration harness uses, with QEMU's meaning.
import { parseOptionList } from './options.js';
import { parseSize } from './size.js';
import { parseWorkloadOption, type WorkloadConfig } from '../guest/workload-config.js';
import { parseDiskWorkloadOption, type DiskWorkloadOption } from '../guest/disk-workload-config.js';
import { parseDriveOption, type DriveConfig } from './drive-option.js';

export interface MemoryBackendConfig {
  id: string;
  kind: 'file' | 'ram';
  size: number;
  /** memory-backend-file only: the file that is the guest RAM. */
  memPath?: string;
  share: boolean;
  /** `prealloc=on|off`; unset: mig decides (on for a migration target). */
  prealloc?: boolean;
}

/** `mode` (mig only): the unix socket file's permissions, octal, or `umask` for QEMU's; default owner-only (0600). */
export type QmpEndpointConfig = { kind: 'unix'; path: string; mode?: number | 'umask' } | { kind: 'tcp'; host: string; port: number };

/** `-object tls-creds-x509,...` / `authz-simple,...` / `authz-list,...` (or QEMU's JSON form): made at start. */
export interface UserObjectConfig {
  /** The option's text, for error messages. */
  text: string;
  type: string;
  props: Record<string, unknown>;
}

export interface DaemonConfig {
  /** -h / -help / -version met on the command line: print that and exit (QEMU stops parsing there). */
  action?: 'help' | 'version';
  machine: string;
  /** `-machine ...,memory-backend=ID`: the backend that is the machine's RAM (its id becomes the RAMBlock idstr). */
  memoryBackendId?: string;
  /** Guest RAM in bytes (`-m`); 0 means none (QEMU's `-machine none` default). */
  ramSize: number;
  backends: MemoryBackendConfig[];
  /** The other -object options, in command-line order (the daemon makes them before anything listens). */
  objects: UserObjectConfig[];
  qmp: QmpEndpointConfig[];
  /** `-incoming URI` or `defer`. */
  incoming?: string;
  /** `-S`: do not start the guest. */
  startPaused: boolean;
  name?: string;
  /** `-workload dirty-rate=SIZE/s,wss=SIZE[,offset=SIZE][,pattern=random|sparse|zero]` (mig only). */
  workload?: Partial<WorkloadConfig> & { dirtyRate: number };
  /** `-drive if=none,id=ID,file=FILE[,format=raw|qcow2][,readonly=on|off]`, in command-line order. */
  drives: DriveConfig[];
  /** `-disk-workload drive=ID,rate=SIZE/s[,region=OFFSET+LEN][,pattern=...][,block=SIZE]` (mig only). */
  diskWorkloads: DiskWorkloadOption[];
  /** `-metrics tcp:HOST:PORT` (mig only): Prometheus metrics over HTTP; off without it. */
  metrics?: { host: string; port: number };
}

export class UsageError extends Error {
  override name = 'UsageError';
}

/** Options that take no argument and change nothing in mig (accepted so QEMU harnesses run unchanged). */
const ACCEPTED_FLAGS = new Set(['nodefaults', 'no-user-config', 'no-shutdown', 'no-reboot']);
/** Options whose argument must be `none` (or tcg for -accel), accepted for the same reason. */
const ACCEPTED_NONE = new Map([
  ['display', ['none']],
  ['serial', ['none']],
  ['monitor', ['none']],
  ['vga', ['none']],
  ['parallel', ['none']],
  ['accel', ['tcg', 'qtest']],
]);

export function parseDaemonArgs(argv: readonly string[]): DaemonConfig {
  const config: DaemonConfig = { machine: 'none', ramSize: 0, backends: [], objects: [], qmp: [], startPaused: false, drives: [], diskWorkloads: [] };
  const pending: { ram?: string } = {};
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i]!;
    if (!raw.startsWith('-')) throw new UsageError(`${raw}: invalid option (expected -option)`);
    const opt = raw.replace(/^--?/, '');
    if (opt === 'h' || opt === 'help' || opt === 'version') {
      config.action = opt === 'version' ? 'version' : 'help';
      return config;
    }
    if (opt === 'S') {
      config.startPaused = true;
      continue;
    }
    if (ACCEPTED_FLAGS.has(opt)) continue;
    const takesValue = ['machine', 'M', 'm', 'object', 'qmp', 'incoming', 'name', 'workload', 'drive', 'disk-workload', 'metrics', ...ACCEPTED_NONE.keys()];
    if (!takesValue.includes(opt)) throw new UsageError(`${raw}: invalid option`);
    const value = argv[++i];
    if (value === undefined) throw new UsageError(`${raw}: requires an argument`);
    const fail = (why: string): never => {
      throw new UsageError(`${raw} ${value}: ${why}`);
    };
    applyOption(opt, value, config, pending, fail);
  }
  checkDiskWorkloadDrives(config);
  if (pending.ram !== undefined) config.ramSize = parseRamOption(pending.ram);
  resolveMachineRam(config);
  return config;
}

/** One option with its value into `config` (-m is kept in `pending` and parsed at the end). */
function applyOption(opt: string, value: string, config: DaemonConfig, pending: { ram?: string }, fail: (why: string) => never): void {
  switch (opt) {
    case 'machine':
    case 'M':
      parseMachine(value, config, fail);
      break;
    case 'm':
      pending.ram = value; // parsed once all options are in
      break;
    case 'object': {
      const object = parseObjectOption(value, fail);
      if (object.type.startsWith('memory-backend')) config.backends.push(parseBackend(value, fail));
      else config.objects.push(object);
      break;
    }
    case 'qmp':
      config.qmp.push(parseQmp(value, fail));
      break;
    case 'incoming':
      config.incoming = value;
      break;
    case 'workload':
      try {
        config.workload = parseWorkloadOption(value);
      } catch (err) {
        fail((err as Error).message);
      }
      break;
    case 'drive':
      config.drives.push(parseDrive(value, config.drives, fail));
      break;
    case 'disk-workload':
      config.diskWorkloads.push(parseDiskWorkload(value, config.diskWorkloads, fail));
      break;
    case 'metrics':
      config.metrics = parseMetrics(value, fail);
      break;
    case 'name': {
      const list = parseOptionList(value, 'guest');
      config.name = list.implied ?? value;
      break;
    }
    default: {
      const allowed = ACCEPTED_NONE.get(opt)!;
      const head = value.split(',')[0]!;
      if (!allowed.includes(head)) fail(`mig accepts only ${allowed.map((a) => `'${a}'`).join(' or ')} here`);
    }
  }
}

function checkDiskWorkloadDrives(config: DaemonConfig): void {
  for (const w of config.diskWorkloads) {
    if (!config.drives.some((d) => d.id === w.drive)) {
      throw new UsageError(`-disk-workload drive=${w.drive}: there is no -drive with id '${w.drive}'`);
    }
  }
}

function parseDrive(value: string, earlier: readonly DriveConfig[], fail: (why: string) => never): DriveConfig {
  let drive: DriveConfig;
  try {
    drive = parseDriveOption(value);
  } catch (err) {
    return fail((err as Error).message);
  }
  if (earlier.some((d) => d.id === drive.id)) fail(`Duplicate ID '${drive.id}' for drive`);
  return drive;
}

/** The drive is looked up when the daemon has opened its drives (Daemon.start). */
function parseDiskWorkload(value: string, earlier: readonly DiskWorkloadOption[], fail: (why: string) => never): DiskWorkloadOption {
  let option: DiskWorkloadOption;
  try {
    option = parseDiskWorkloadOption(value);
  } catch (err) {
    return fail((err as Error).message);
  }
  if (earlier.some((w) => w.drive === option.drive)) fail(`drive '${option.drive}' already has a disk workload`);
  return option;
}

function parseMachine(value: string, config: DaemonConfig, fail: (why: string) => never): void {
  const list = parseOptionList(value, 'type');
  const type = list.implied ?? 'none';
  if (type !== 'none') fail(`machine type '${type}' is not supported: mig-daemon models '-machine none'`);
  config.machine = type;
  for (const [key, v] of list.props) {
    if (key === 'memory-backend') config.memoryBackendId = v;
    else if (key !== 'accel') fail(`property '${key}' not found`);
  }
}

function parseRamOption(value: string): number {
  const list = parseOptionList(value, 'size');
  for (const key of list.props.keys()) {
    if (key !== 'slots' && key !== 'maxmem') throw new UsageError(`-m ${value}: property '${key}' not found`);
  }
  try {
    return parseSize(list.implied ?? '', 'm');
  } catch (err) {
    throw new UsageError(`-m ${value}: ${(err as Error).message}`);
  }
}

/** Object types mig makes besides memory backends. */
const OBJECT_TYPES = ['tls-creds-x509', 'authz-simple', 'authz-list'];

/** `-object TYPE,key=value,...` or QEMU's JSON form `-object '{"qom-type":TYPE,...}'` (needed for authz-list rules). */
function parseObjectOption(value: string, fail: (why: string) => never): UserObjectConfig {
  let props: Record<string, unknown>;
  if (value.trimStart().startsWith('{')) {
    try {
      props = JSON.parse(value) as Record<string, unknown>;
    } catch (err) {
      return fail((err as Error).message);
    }
  } else {
    const list = parseOptionList(value, 'qom-type');
    props = Object.fromEntries(list.props);
    if (list.implied !== undefined) props['qom-type'] = list.implied;
  }
  const type = props['qom-type'];
  if (typeof type !== 'string') return fail("Parameter 'qom-type' is missing");
  if (!type.startsWith('memory-backend') && !OBJECT_TYPES.includes(type)) {
    fail(`object type '${type}' is not supported (mig has memory-backend-file, memory-backend-ram, ${OBJECT_TYPES.join(', ')})`);
  }
  delete props['qom-type'];
  return { text: value, type, props };
}

function parseBackend(value: string, fail: (why: string) => never): MemoryBackendConfig {
  const list = parseOptionList(value, 'qom-type');
  const type = list.implied;
  if (type !== 'memory-backend-file' && type !== 'memory-backend-ram') {
    fail(`object type '${type ?? ''}' is not supported (mig has memory-backend-file and memory-backend-ram)`);
  }
  const id = list.props.get('id') ?? fail("Parameter 'id' is missing");
  const sizeText = list.props.get('size') ?? fail("Parameter 'size' is missing");
  let size: number;
  try {
    size = parseSize(sizeText, 'b');
  } catch (err) {
    return fail((err as Error).message);
  }
  if (size <= 0 || size % 4096 !== 0) fail(`size ${size} must be a positive multiple of the 4096-byte page`);
  const backend: MemoryBackendConfig = {
    id,
    kind: type === 'memory-backend-file' ? 'file' : 'ram',
    size,
    share: (list.props.get('share') ?? 'off') === 'on',
  };
  const prealloc = list.props.get('prealloc');
  if (prealloc !== undefined) {
    if (prealloc !== 'on' && prealloc !== 'off') fail(`prealloc must be 'on' or 'off', not '${prealloc}'`);
    backend.prealloc = prealloc === 'on';
  }
  if (backend.kind === 'file') backend.memPath = list.props.get('mem-path') ?? fail("Parameter 'mem-path' is missing");
  for (const key of list.props.keys()) {
    if (!['id', 'size', 'mem-path', 'share', 'prealloc', 'merge', 'dump'].includes(key)) fail(`property '${key}' not found`);
  }
  return backend;
}

function parseQmp(value: string, fail: (why: string) => never): QmpEndpointConfig {
  const list = parseOptionList(value);
  const [address] = list.props.keys();
  if (address === undefined) fail('missing address');
  const server = list.props.get('server');
  if (server !== 'on') fail("mig-daemon's QMP must be a server: add ',server=on,wait=off'");
  for (const key of list.props.keys()) {
    if (key !== address && !['server', 'wait', 'nowait', 'mode'].includes(key)) fail(`property '${key}' not found`);
  }
  const mode = list.props.get('mode');
  if (address!.startsWith('unix:')) {
    const path = address!.slice(5);
    return mode === undefined ? { kind: 'unix', path } : { kind: 'unix', path, mode: parseSocketMode(mode, fail) };
  }
  if (mode !== undefined) fail("'mode' applies to a unix socket only");
  const tcp = /^tcp:(.*):(\d+)$/.exec(address!);
  if (tcp) return { kind: 'tcp', host: tcp[1]!.replace(/^\[(.*)\]$/, '$1') || '0.0.0.0', port: Number(tcp[2]) };
  return fail(`unsupported QMP address '${address}' (use unix:PATH or tcp:HOST:PORT)`);
}

/** `tcp:HOST:PORT` (an empty host: every address); port 0 picks a free one (the log names it). */
export function parseMetrics(value: string, fail: (why: string) => never): { host: string; port: number } {
  const tcp = /^tcp:(.*):(\d+)$/.exec(value);
  if (!tcp) return fail('expected tcp:HOST:PORT (Prometheus metrics over HTTP)');
  const port = Number(tcp[2]);
  if (port > 65535) fail(`port ${port} is above 65535`);
  return { host: tcp[1]!.replace(/^\[(.*)\]$/, '$1') || '0.0.0.0', port };
}

/** `mode=0660` (octal, permission bits only) or `mode=umask`. */
function parseSocketMode(value: string, fail: (why: string) => never): number | 'umask' {
  if (value === 'umask') return value;
  if (!/^0?[0-7]{3}$/.test(value)) fail(`mode must be octal permissions such as 0600, or 'umask', not '${value}'`);
  return parseInt(value, 8);
}

/** Applies QEMU's rules tying -m to -machine memory-backend=. */
function resolveMachineRam(config: DaemonConfig): void {
  const ids = new Set<string>();
  for (const b of config.backends) {
    if (ids.has(b.id)) throw new UsageError(`-object ${b.id}: attempt to add duplicate property '${b.id}' to object`);
    ids.add(b.id);
  }
  if (config.memoryBackendId === undefined) return;
  const backend = config.backends.find((b) => b.id === config.memoryBackendId);
  if (!backend) throw new UsageError(`Memory backend '${config.memoryBackendId}' not found`);
  if (config.ramSize === 0) config.ramSize = backend.size;
  if (backend.size !== config.ramSize) {
    throw new UsageError('Machine memory size does not match the size of the memory backend');
  }
}
