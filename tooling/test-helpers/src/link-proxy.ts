// A userspace TCP proxy on a test host, between a migration source and its target: it relays byte for byte
// and cuts the connection (reset, close, blackhole) or holds it at a chosen byte count or on command.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { onCleanup, trackProcess } from './cleanup.js';
import type { CutAction, ProxyCommand, ProxyEvent } from './link-proxy-protocol.js';
import type { TestHost } from './netns.js';
import { repoRoot } from './paths.js';

export interface LinkProxyOptions {
  /** Where it listens, inside `host`'s namespace. Default: the host's address. */
  listenHost?: string;
  listenPort: number;
  /** Where it connects for each accepted connection. */
  targetHost: string;
  targetPort: number;
}

export interface ProxyStats {
  /** Bytes relayed from the source to the target on the current connection. */
  forwarded: number;
  /** Bytes relayed back. */
  returned: number;
  /** Connections accepted so far. */
  connections: number;
}

export interface LinkProxy {
  /** `tcp:HOST:PORT` to migrate to. */
  readonly uri: string;
  /** Act once `at` bytes from the source are relayed (on the current connection, or the next). */
  arm(at: number, action: CutAction): void;
  /** Act now on the current connection. */
  now(action: CutAction): void;
  /** Relay again after a hold. */
  release(): void;
  stats(): Promise<ProxyStats>;
  /** The next event of this kind (already seen ones included, oldest first). */
  next<K extends ProxyEvent['ev']>(ev: K, timeoutMs?: number): Promise<Extract<ProxyEvent, { ev: K }>>;
  /** Everything it reported so far. */
  readonly events: readonly ProxyEvent[];
  stop(): Promise<void>;
}

/** tooling/test-helpers/dist/link-proxy-main.js: the proxy runs from the build, like mig-daemon. */
export function linkProxyScript(): string {
  return join(repoRoot(), 'tooling', 'test-helpers', 'dist', 'link-proxy-main.js');
}

/** Starts the proxy inside `host`'s namespace and waits until it listens. */
export async function startLinkProxy(host: TestHost, opts: LinkProxyOptions): Promise<LinkProxy> {
  const script = linkProxyScript();
  if (!existsSync(script)) throw new Error(`link proxy: ${script} is missing: run \`pnpm build\` first`);
  const listenHost = opts.listenHost ?? host.address;
  const args = [...host.wrap.slice(1), process.execPath, script, listenHost, String(opts.listenPort), opts.targetHost, String(opts.targetPort)];
  const proc = spawn(host.wrap[0]!, args, { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  trackProcess(proc);
  let stderr = '';
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (s: string) => (stderr = (stderr + s).slice(-8000)));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const queue = new EventQueue(() => proc.exitCode !== null || proc.signalCode !== null, () => stderr);
  proc.on('message', (ev: ProxyEvent) => queue.push(ev));
  const stop = async (): Promise<void> => {
    unregister();
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await exited;
  };
  const unregister = onCleanup(stop);
  const command = (c: ProxyCommand): void => {
    if (!proc.connected) throw new Error(`link proxy on ${host.ns} is gone\n${stderr}`);
    proc.send(c);
  };
  try {
    await queue.next('listening', 20_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    uri: `tcp:${listenHost}:${opts.listenPort}`,
    arm: (at, action) => command({ op: 'arm', at, action }),
    now: (action) => command({ op: 'now', action }),
    release: () => command({ op: 'release' }),
    stats: async () => {
      command({ op: 'stats' });
      const s = await queue.next('stats', 10_000);
      return { forwarded: s.forwarded, returned: s.returned, connections: s.connections };
    },
    next: (ev, timeoutMs) => queue.next(ev, timeoutMs),
    events: queue.events,
    stop,
  };
}

/** The proxy's events as they come, and waiting for the next one of a kind. */
class EventQueue {
  readonly events: ProxyEvent[] = [];
  readonly #taken = new Set<ProxyEvent>();
  readonly #waiters = new Set<() => void>();

  constructor(private readonly exited: () => boolean, private readonly stderr: () => string) {}

  push(ev: ProxyEvent): void {
    this.events.push(ev);
    for (const w of [...this.#waiters]) w();
  }

  async next<K extends ProxyEvent['ev']>(ev: K, timeoutMs = 60_000): Promise<Extract<ProxyEvent, { ev: K }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find((e) => e.ev === ev && !this.#taken.has(e));
      if (found !== undefined) {
        this.#taken.add(found);
        return found as Extract<ProxyEvent, { ev: K }>;
      }
      if (this.exited()) throw new Error(`link proxy exited before '${ev}'\n${this.stderr()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`link proxy: no '${ev}' within ${timeoutMs} ms; events: ${JSON.stringify(this.events.slice(-10))}`);
      await new Promise<void>((resolve) => {
        const done = () => {
          this.#waiters.delete(done);
          resolve();
        };
        this.#waiters.add(done);
        void sleep(Math.min(left, 200)).then(done);
      });
    }
  }
}
