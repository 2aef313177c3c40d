/** Test helpers: a raw line-level QMP peer, handler stubs, temp socket paths. */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { QmpHandlers } from '../src/server.js';

export function tempDir(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'mig-qmp-test-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A client that speaks raw lines, to check exact server output. */
export class RawPeer {
  private buf = '';
  private readonly lines: unknown[] = [];
  private waiter: (() => void) | undefined;
  closed = false;
  private constructor(readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      this.buf += d;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        this.lines.push(JSON.parse(line));
      }
      this.waiter?.();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
  }

  static connect(opts: net.NetConnectOpts): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const s = net.connect(opts);
      s.once('error', reject);
      s.once('connect', () => {
        s.off('error', reject);
        resolve(new RawPeer(s));
      });
    });
  }

  /** Next message; rejects if the connection closes first. */
  async next(): Promise<Record<string, unknown>> {
    for (;;) {
      if (this.lines.length) return this.lines.shift() as Record<string, unknown>;
      if (this.closed) throw new Error('connection closed');
      await new Promise<void>((r) => (this.waiter = r));
      this.waiter = undefined;
    }
  }

  send(line: string): void {
    this.socket.write(line.endsWith('\n') ? line : `${line}\n`);
  }

  async request(line: string): Promise<Record<string, unknown>> {
    this.send(line);
    return this.next();
  }

  /** Reads the greeting and negotiates. */
  async negotiate(): Promise<void> {
    await this.next();
    const r = await this.request('{"execute":"qmp_capabilities"}');
    if (JSON.stringify(r) !== '{"return":{}}') throw new Error(`negotiation failed: ${JSON.stringify(r)}`);
  }

  waitClosed(): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) resolve();
      else this.socket.once('close', () => resolve());
    });
  }

  pendingCount(): number {
    return this.lines.length;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Handlers that answer like an idle QEMU 7.2 `-machine none -S`; tests override what they need. */
export function stubHandlers(overrides: Partial<QmpHandlers> = {}): QmpHandlers {
  return {
    'query-version': () => ({ qemu: { major: 7, minor: 2, micro: 0 }, package: 'mig' }),
    'query-status': () => ({ status: 'prelaunch', running: false, singlestep: false }),
    stop: () => {},
    cont: () => {},
    quit: () => {},
    migrate: () => {},
    'object-add': () => {},
    'object-del': () => {},
    'migrate-incoming': () => {},
    migrate_cancel: () => {},
    'query-migrate': () => ({}),
    'migrate-set-capabilities': () => {},
    'query-migrate-capabilities': () => [{ capability: 'xbzrle', state: false }],
    'migrate-set-parameters': () => {},
    'query-migrate-parameters': () => ({ 'downtime-limit': 300, 'max-bandwidth': 134217728 }),
    migrate_set_speed: () => {},
    migrate_set_downtime: () => {},
    'migrate-set-cache-size': () => {},
    'query-migrate-cache-size': () => 67108864,
    pmemsave: () => {},
    'human-monitor-command': () => '',
    'query-block': () => [],
    'x-mig-workload': () => {},
    'x-mig-query-workload': () => ({ active: false, running: false, 'dirty-rate': 0, wss: 0, offset: 0, pattern: 'sparse', throttle: 0, writes: 0 }),
    'x-mig-write': () => {},
    'x-mig-query-progress': () => ({
      status: 'none', percent: 0, 'eta-ms': null, remaining: 0, total: 0, processed: 0, 'processing-rate': 0, 'remaining-min': 0, threshold: 0, 'dirty-rate': 0,
      bandwidth: 0, 'stalled-syncs': 0, converging: true, pass: 0, throttle: 0, advice: [],
    }),
    'x-mig-disk-workload': () => {},
    'x-mig-query-disk-workload': () => [],
    getfd: () => {},
    closefd: () => {},
    ...overrides,
  };
}
