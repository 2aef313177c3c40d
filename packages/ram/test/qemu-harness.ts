// A minimal QEMU launcher and QMP client for this package's interop tests (self-contained so the ram
// package's tests do not depend on packages still being written).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createConnection, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export const QEMU_BINARY = 'qemu-system-x86_64';
export const QEMU_SKIP_MESSAGE = 'QEMU 7.2 not installed: apt-get install qemu-system-x86 qemu-utils';

/** True when QEMU can be run. Throws when it is missing and CI is set (CI must not skip interop). */
export function qemuAvailable(): boolean {
  const r = spawnSync(QEMU_BINARY, ['--version'], { encoding: 'utf8' });
  const ok = r.status === 0;
  const ci = process.env.CI;
  const isCi = ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
  if (!ok && isCi) throw new Error(`${QEMU_SKIP_MESSAGE} (CI is set, so this test must not be skipped)`);
  return ok;
}

export class Qmp {
  private buf = '';
  private waiters: Array<(msg: Record<string, unknown>) => void> = [];
  private constructor(private readonly sock: Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      this.buf += d;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl).trim();
        this.buf = this.buf.slice(nl + 1);
        if (!line) continue;
        const msg = JSON.parse(line) as Record<string, unknown>;
        if ('event' in msg) continue;
        this.waiters.shift()?.(msg);
      }
    });
  }

  static async connect(path: string, timeoutMs = 10000): Promise<Qmp> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const sock = await new Promise<Socket>((resolve, reject) => {
          const s = createConnection(path, () => resolve(s));
          s.once('error', reject);
        });
        const qmp = new Qmp(sock);
        await qmp.next(); // greeting
        await qmp.execute('qmp_capabilities');
        return qmp;
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await sleep(50);
      }
    }
  }

  private next(): Promise<Record<string, unknown>> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    const reply = this.next();
    this.sock.write(JSON.stringify(args ? { execute: command, arguments: args } : { execute: command }) + '\n');
    const msg = await reply;
    if ('error' in msg) throw new Error(`QMP ${command}: ${JSON.stringify(msg.error)}`);
    return msg.return;
  }

  /** Polls query-migrate until a terminal status; returns the last reply. */
  async waitMigration(timeoutMs = 60000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = (await this.execute('query-migrate')) as Record<string, unknown>;
      if (r.status === 'completed' || r.status === 'failed' || r.status === 'cancelled') return r;
      if (Date.now() > deadline) throw new Error(`migration did not finish: ${JSON.stringify(r)}`);
      await sleep(50);
    }
  }

  close(): void {
    this.sock.destroy();
  }
}

export interface Qemu {
  readonly proc: ChildProcess;
  readonly qmp: Qmp;
  readonly stderr: () => string;
  stop(): Promise<void>;
}

/** Starts `qemu-system-x86_64 -machine none ... -qmp unix:SOCK` with extra args. */
export async function startQemu(qmpPath: string, extra: string[]): Promise<Qemu> {
  const proc = spawn(
    QEMU_BINARY,
    ['-nodefaults', '-display', 'none', '-qmp', `unix:${qmpPath},server=on,wait=off`, ...extra],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  let qmp: Qmp;
  try {
    qmp = await Promise.race([
      Qmp.connect(qmpPath),
      exited.then(() => Promise.reject(new Error(`QEMU exited: ${err}`))),
    ]);
  } catch (e) {
    proc.kill('SIGKILL');
    throw e;
  }
  return {
    proc,
    qmp,
    stderr: () => err,
    async stop() {
      qmp.close();
      if (proc.exitCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}
