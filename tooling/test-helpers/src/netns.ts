// Test hosts: two network namespaces joined by a veth pair, so a migration crosses a real (shaped, cuttable)
// link between a source "host" and a target "host". Every address lives inside the two namespaces; the
// machine's own network is never touched. Needs root and iproute2 (ip, tc).
import { execFile, execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { onCleanup, onExit } from './cleanup.js';
import { isCi } from './qemu.js';

const run = promisify(execFile);

export const TEST_HOSTS_SKIP_MESSAGE =
  'test hosts need root and iproute2 (ip, tc): run as root, apt-get install iproute2';

/** Namespace names are `migt<pid>-<n>-src|dst`: the pid says whether the run that made them is still alive. */
const NAME_PREFIX = 'migt';
const STALE_NAME = /^migt(\d+)-\d+-(src|dst)$/;
/** The veth end's name inside each namespace (it is created there, so runs never clash over it). */
export const TEST_LINK_DEVICE = 'mig0';
export const TEST_SUBNET_PREFIX = 24;

export class TestHostsMissingError extends Error {
  constructor(why: string) {
    super(`${TEST_HOSTS_SKIP_MESSAGE} (${why}; CI is set: these tests never skip in CI)`);
    this.name = 'TestHostsMissingError';
  }
}

/** Why test hosts cannot be made here, or undefined when they can. */
export function testHostsUnavailable(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  for (const tool of ['ip', 'tc']) {
    if (!onPath(tool, env)) return `'${tool}' is not on PATH`;
  }
  return undefined;
}

/**
 * Whether test hosts can be made. Use as `describe.skipIf(!requireTestHosts())`. With CI set and no root or no
 * iproute2 this throws instead: the tests never skip in CI.
 */
export function requireTestHosts(env: NodeJS.ProcessEnv = process.env): boolean {
  const why = testHostsUnavailable(env);
  if (why !== undefined && isCi(env)) throw new TestHostsMissingError(why);
  if (why !== undefined) console.warn(`skipping: ${TEST_HOSTS_SKIP_MESSAGE} (${why})`);
  return why === undefined;
}

function onPath(tool: string, env: NodeJS.ProcessEnv): boolean {
  return (env.PATH ?? '').split(delimiter).some((dir) => {
    if (dir === '') return false;
    try {
      accessSync(join(dir, tool), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** One end of the link: a namespace, its address on the veth, and how to run a program inside it. */
export interface TestHost {
  /** The network namespace's name (`ip netns exec NAME ...`). */
  readonly ns: string;
  /** Its address on the link, e.g. 10.77.0.1. */
  readonly address: string;
  /** The argv prefix that runs a program in this namespace: `['ip', 'netns', 'exec', ns]`. */
  readonly wrap: readonly string[];
  /** Runs argv inside the namespace; rejects with its stderr when it fails. */
  exec(argv: readonly string[]): Promise<string>;
}

export interface TestHostsOptions {
  /** The link's /24, as its first three octets. Default '10.77.0'. */
  subnet?: string;
  /** Shape both directions with tbf at this rate from the start (see shape()). */
  rateMbit?: number;
  /**
   * TCP buffer sizes inside both namespaces (max of net.ipv4.tcp_rmem and tcp_wmem), bytes. Small buffers keep
   * what is in flight small, so a cut at byte N stops the sender near N. Default 256 KiB.
   */
  tcpBufferBytes?: number;
}

export interface TestHosts {
  readonly src: TestHost;
  readonly dst: TestHost;
  /** tbf on both veth ends' egress: `rate` Mbit/s, with a burst and queue that suit it. */
  shape(rateMbit: number): Promise<void>;
  /** No shaping (the veth's full speed). */
  unshape(): Promise<void>;
  /** `ip link set mig0 down` on the source's end: a blackhole, nothing is sent or refused. */
  linkDown(): Promise<void>;
  linkUp(): Promise<void>;
  /** Kills what runs inside and deletes both namespaces (the veth pair goes with them). Idempotent. */
  destroy(): Promise<void>;
}

let made = 0;

/** Makes the two namespaces and the link between them, registered for cleanupAll() and the process's exit. */
export async function createTestHosts(opts: TestHostsOptions = {}): Promise<TestHosts> {
  const why = testHostsUnavailable();
  if (why !== undefined) throw new TestHostsMissingError(why);
  await removeStaleTestHosts();
  const stem = `${NAME_PREFIX}${process.pid}-${++made}`;
  const subnet = opts.subnet ?? '10.77.0';
  const src = host(`${stem}-src`, `${subnet}.1`);
  const dst = host(`${stem}-dst`, `${subnet}.2`);
  const names = [src.ns, dst.ns];
  let destroyed = false;
  const removeSync = onExit(() => deleteNamespacesSync(names));
  const destroy = async (): Promise<void> => {
    if (destroyed) return;
    destroyed = true;
    unregister();
    removeSync();
    await deleteNamespaces(names);
  };
  const unregister = onCleanup(destroy);
  try {
    await ip(['netns', 'add', src.ns]);
    await ip(['netns', 'add', dst.ns]);
    await ip(['link', 'add', TEST_LINK_DEVICE, 'netns', src.ns, 'type', 'veth', 'peer', 'name', TEST_LINK_DEVICE, 'netns', dst.ns]);
    for (const h of [src, dst]) await bringUp(h, opts.tcpBufferBytes ?? 256 * 1024);
  } catch (err) {
    await destroy();
    throw err;
  }
  const hosts: TestHosts = {
    src,
    dst,
    shape: async (rateMbit) => {
      for (const h of [src, dst]) await tc(h, ['qdisc', 'replace', 'dev', TEST_LINK_DEVICE, 'root', ...tbfArgs(rateMbit)]);
    },
    unshape: async () => {
      for (const h of [src, dst]) await tc(h, ['qdisc', 'del', 'dev', TEST_LINK_DEVICE, 'root']).catch(() => undefined);
    },
    linkDown: () => ip(['-n', src.ns, 'link', 'set', TEST_LINK_DEVICE, 'down']).then(() => undefined),
    linkUp: () => ip(['-n', src.ns, 'link', 'set', TEST_LINK_DEVICE, 'up']).then(() => undefined),
    destroy,
  };
  if (opts.rateMbit !== undefined) await hosts.shape(opts.rateMbit);
  return hosts;
}

function host(ns: string, address: string): TestHost {
  const wrap = ['ip', 'netns', 'exec', ns] as const;
  return {
    ns,
    address,
    wrap,
    exec: async (argv) => (await run(wrap[0], [...wrap.slice(1), ...argv])).stdout,
  };
}

async function bringUp(h: TestHost, bufferBytes: number): Promise<void> {
  await ip(['-n', h.ns, 'addr', 'add', `${h.address}/${TEST_SUBNET_PREFIX}`, 'dev', TEST_LINK_DEVICE]);
  await ip(['-n', h.ns, 'link', 'set', TEST_LINK_DEVICE, 'up']);
  await ip(['-n', h.ns, 'link', 'set', 'lo', 'up']);
  // per-namespace sysctls: the machine's own stay as they are
  const max = Math.max(8192, Math.floor(bufferBytes));
  const def = Math.min(65536, max);
  await h.exec(['sh', '-c',
    `echo "4096 ${def} ${max}" > /proc/sys/net/ipv4/tcp_rmem && echo "4096 ${def} ${max}" > /proc/sys/net/ipv4/tcp_wmem`]);
}

/** tbf for a rate: a burst of about 4 ms of traffic (at least 16 KiB) and a 50 ms queue. */
export function tbfArgs(rateMbit: number): string[] {
  if (!(rateMbit > 0)) throw new RangeError(`shape: rate must be a positive number of Mbit/s, got ${rateMbit}`);
  const burst = Math.max(16 * 1024, Math.round((rateMbit * 1e6) / 8 / 250));
  return ['tbf', 'rate', `${rateMbit}mbit`, 'burst', String(burst), 'latency', '50ms'];
}

async function ip(args: readonly string[]): Promise<string> {
  try {
    return (await run('ip', args)).stdout;
  } catch (err) {
    throw new Error(`ip ${args.join(' ')}: ${commandError(err)}`);
  }
}

async function tc(h: TestHost, args: readonly string[]): Promise<void> {
  try {
    await run('tc', ['-n', h.ns, ...args]);
  } catch (err) {
    throw new Error(`tc -n ${h.ns} ${args.join(' ')}: ${commandError(err)}`);
  }
}

function commandError(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  return (e.stderr ?? '').trim() || (e.message ?? String(err));
}

/** SIGKILLs every process still inside (they hold the namespace alive), then deletes it. */
async function deleteNamespaces(names: readonly string[]): Promise<void> {
  for (const ns of names) {
    const pids = await ip(['netns', 'pids', ns]).catch(() => '');
    killAll(pids);
    await ip(['netns', 'del', ns]).catch(() => undefined);
  }
}

function deleteNamespacesSync(names: readonly string[]): void {
  for (const ns of names) {
    try {
      killAll(execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
}

function killAll(pids: string): void {
  for (const p of pids.split(/\s+/)) {
    const pid = Number(p);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
}

/**
 * Deletes the namespaces a killed run left behind: names of this helper's shape whose pid no longer runs.
 * Returns the names removed.
 */
export async function removeStaleTestHosts(): Promise<string[]> {
  const listed = await ip(['netns', 'list']).catch(() => '');
  const stale = listed
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => {
      const m = STALE_NAME.exec(name);
      return m !== null && !alive(Number(m[1]));
    });
  await deleteNamespaces(stale);
  return stale;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
