// A QMP end for the CLI's tests: QEMU 7.2's replies for a migration that runs on the test io's clock — a bulk
// pass at a fixed rate, then completed. Not a model of QEMU beyond the figures the CLI reads.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QmpError, QmpServer, type QmpHandlers, type QmpListener } from '@mig/qmp';

const MiB = 1024 * 1024;

export interface FakeEndOptions {
  clock: { now: number };
  totalBytes?: number;
  /** Bytes per second of the bulk pass. */
  rate?: number;
  /** What `migrate` does: start, or refuse with this text. */
  refuseMigrate?: string;
  /** A target: inmigrate until the source it is paired with completes. */
  targetOf?: FakeEnd;
  /** Waits with -incoming defer (no socket-address until migrate-incoming). */
  deferred?: boolean;
}

function ram(transferred: number, remaining: number, total: number, passes: number) {
  return {
    transferred, remaining, total, duplicate: 0, skipped: 0, normal: Math.floor(transferred / 4096), 'normal-bytes': transferred,
    'dirty-pages-rate': 0, mbps: 512, 'dirty-sync-count': passes, 'postcopy-requests': 0, 'page-size': 4096, 'multifd-bytes': 0,
    'pages-per-second': 16384, 'precopy-bytes': transferred, 'downtime-bytes': 0, 'postcopy-bytes': 0, 'dirty-sync-missed-zero-copy': 0,
  };
}

export class FakeEnd {
  readonly calls: { name: string; args: unknown }[] = [];
  startedAt: number | undefined;
  cancelled = false;
  listening = false;
  #listener: QmpListener | undefined;
  readonly address: string;

  constructor(private readonly o: FakeEndOptions) {
    this.address = `unix:${join(mkdtempSync(join(tmpdir(), 'mig-cli-')), 'qmp.sock')}`;
    this.listening = o.targetOf !== undefined && !o.deferred;
  }

  get total(): number {
    return this.o.totalBytes ?? 64 * MiB;
  }

  /** The source's migration state now. */
  status(): 'none' | 'active' | 'completed' | 'cancelled' {
    if (this.startedAt === undefined) return 'none';
    if (this.cancelled) return 'cancelled';
    const done = ((this.o.clock.now - this.startedAt) / 1000) * (this.o.rate ?? 32 * MiB);
    return done >= this.total + 2 * MiB ? 'completed' : 'active'; // a short pass 2 after the bulk
  }

  #queryMigrate(): Record<string, unknown> {
    if (this.o.targetOf) {
      const s = this.o.targetOf.status();
      const base = this.listening ? { 'socket-address': [{ type: 'unix', path: '/x' }] } : {};
      return s === 'none' ? base : { ...base, status: s === 'completed' ? 'completed' : 'active' };
    }
    const status = this.status();
    if (status === 'none') return {};
    const elapsed = this.o.clock.now - this.startedAt!;
    const sent = Math.min(this.total + 2 * MiB, (elapsed / 1000) * (this.o.rate ?? 32 * MiB));
    const bulk = sent < this.total;
    const remaining = status === 'completed' ? 0 : bulk ? this.total - sent : this.total + 2 * MiB - sent;
    return {
      status, 'total-time': elapsed, 'setup-time': 3, 'expected-downtime': 300, ...(status === 'completed' ? { downtime: 42 } : {}),
      ram: ram(Math.round(sent), Math.round(remaining), this.total, bulk ? 1 : status === 'completed' ? 3 : 2),
    };
  }

  handlers(): QmpHandlers {
    const log = (name: string) => (args: unknown) => void this.calls.push({ name, args });
    const h: Partial<Record<keyof QmpHandlers, (args: never) => unknown>> = {
      'query-version': () => ({ qemu: { major: 7, minor: 2, micro: 22 }, package: 'Debian 1:7.2+dfsg-7' }),
      'query-status': () => ({ status: this.o.targetOf && this.o.targetOf.status() !== 'completed' ? 'inmigrate' : 'running', running: true, singlestep: false }),
      'query-migrate': () => this.#queryMigrate(),
      'query-migrate-parameters': () => ({ 'max-bandwidth': 134217728, 'downtime-limit': 300 }),
      'migrate-set-parameters': log('migrate-set-parameters'),
      'migrate-set-capabilities': log('migrate-set-capabilities'),
      'migrate-incoming': (args) => {
        this.calls.push({ name: 'migrate-incoming', args });
        this.listening = true;
      },
      migrate: (args) => {
        this.calls.push({ name: 'migrate', args });
        if (this.o.refuseMigrate) throw new QmpError('GenericError', this.o.refuseMigrate);
        this.startedAt = this.o.clock.now;
      },
      migrate_cancel: () => {
        this.cancelled = this.startedAt !== undefined;
      },
    };
    return h as unknown as QmpHandlers;
  }

  async start(): Promise<this> {
    const server = new QmpServer({ handlers: this.handlers(), greeting: { qemu: { major: 7, minor: 2, micro: 22 }, package: 'Debian 1:7.2+dfsg-7' } });
    this.#listener = await server.listen({ kind: 'unix', path: this.address.slice(5) });
    return this;
  }

  async stop(): Promise<void> {
    await this.#listener?.close();
  }
}
