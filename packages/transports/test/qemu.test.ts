// The transports against QEMU 7.2's own socket and exec code: QEMU migrates into our tcp listener,
// and our unix and tcp sinks feed QEMU's -incoming, which must load the stream. Skipped locally when
// QEMU is missing (with the install hint); never skipped when CI is set.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenIncoming, openOutgoing, parseMigrationUri, type MigrationUri } from '../src/index.js';

const QEMU = 'qemu-system-x86_64';
const qemuPresent = (process.env.PATH ?? '').split(delimiter).some((dir) => {
  try {
    accessSync(join(dir, QEMU), constants.X_OK);
    return true;
  } catch {
    return false;
  }
});
const ci = process.env.CI !== undefined && !['', '0', 'false'].includes(process.env.CI.toLowerCase());
if (!qemuPresent && ci) throw new Error(`${QEMU} is missing and CI is set: apt-get install qemu-system-x86 qemu-utils`);
if (!qemuPresent) console.warn(`skipping QEMU tests: ${QEMU} not installed (apt-get install qemu-system-x86 qemu-utils)`);

/** Just enough QMP for these tests: one command at a time, events ignored. */
class Qemu {
  #socket!: net.Socket;
  #buffered = '';
  #waiting: { resolve: (line: Record<string, unknown>) => void; reject: (err: Error) => void } | undefined;
  #closed = false;
  private constructor(readonly proc: ChildProcess) {}

  static async start(dir: string, name: string, extra: string[]): Promise<Qemu> {
    const qmpPath = join(dir, `${name}.qmp`);
    const args = ['-machine', 'none', '-m', '64M', '-nodefaults', '-display', 'none', '-S'];
    const proc = spawn(QEMU, [...args, '-qmp', `unix:${qmpPath},server=on,wait=off`, ...extra], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const vm = new Qemu(proc);
    for (let i = 0; ; i++) {
      try {
        vm.#socket = await new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect(qmpPath, () => resolve(s)).once('error', reject);
        });
        break;
      } catch (err) {
        if (i > 400 || proc.exitCode !== null) throw err;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    }
    vm.#socket.setEncoding('utf8').on('data', (text: string) => vm.#onData(text));
    vm.#socket.on('close', () => {
      vm.#closed = true;
      vm.#waiting?.reject(new Error(`QEMU closed its QMP socket (exit code ${proc.exitCode}); see its stderr above`));
      vm.#waiting = undefined;
    });
    await vm.#next(); // greeting
    await vm.execute('qmp_capabilities');
    return vm;
  }

  async execute(command: string, args?: Record<string, unknown>): Promise<Record<string, unknown>> {
    const reply = this.#next();
    this.#socket.write(`${JSON.stringify(args === undefined ? { execute: command } : { execute: command, arguments: args })}\n`);
    const line = await reply;
    if (line.error !== undefined) throw new Error(`QMP ${command}: ${JSON.stringify(line.error)}`);
    return line.return as Record<string, unknown>;
  }

  /** Polls query-migrate until it leaves the running states. */
  async migrationResult(): Promise<Record<string, unknown>> {
    for (;;) {
      const reply = await this.execute('query-migrate');
      if (['completed', 'failed', 'cancelled'].includes(reply.status as string)) return reply;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async quit(): Promise<void> {
    const exited = new Promise((resolve) => this.proc.once('exit', resolve));
    this.proc.kill('SIGKILL');
    await exited;
    this.#socket.destroy();
  }

  #next(): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      if (this.#closed) reject(new Error('QEMU closed its QMP socket'));
      this.#waiting = { resolve, reject };
      this.#drain();
    });
  }

  #onData(text: string): void {
    this.#buffered += text;
    this.#drain();
  }

  #drain(): void {
    for (let nl = this.#buffered.indexOf('\n'); nl >= 0 && this.#waiting; nl = this.#buffered.indexOf('\n')) {
      const line = JSON.parse(this.#buffered.slice(0, nl)) as Record<string, unknown>;
      this.#buffered = this.#buffered.slice(nl + 1);
      if (line.event !== undefined) continue;
      const waiting = this.#waiting;
      this.#waiting = undefined;
      waiting.resolve(line);
    }
  }
}

describe.skipIf(!qemuPresent)('with QEMU 7.2 as the peer', { timeout: 60_000 }, () => {
  let dir: string;
  let stream: Buffer;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mig-transports-qemu-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('QEMU migrates into our tcp listener: the whole stream arrives', async () => {
    const source = await Qemu.start(dir, 'src', []);
    try {
      const listener = await listenIncoming(parseMigrationUri('tcp:127.0.0.1:0'));
      const accepted = listener.accept();
      await source.execute('migrate', { uri: listener.address });
      const chunks: Uint8Array[] = [];
      for await (const chunk of await accepted) chunks.push(chunk);
      stream = Buffer.concat(chunks);
      expect((await source.migrationResult()).status).toBe('completed');
      expect(stream.subarray(0, 8).toString('hex')).toBe('5145564d00000003'); // QEVM, version 3
      // The stream ends with the VMDESCRIPTION JSON, so the last byte is its closing brace.
      expect(stream.at(-1)).toBe('}'.charCodeAt(0));
      await listener.close();
    } finally {
      await source.quit();
    }
  });

  it.each<[string, (port: number) => MigrationUri]>([
    ['unix', () => ({ kind: 'unix', path: join(dir, 'incoming.sock') })],
    ['tcp', (port) => ({ kind: 'tcp', host: '127.0.0.1', port })],
  ])('QEMU loads that stream from our %s sink', async (_name, target) => {
    expect(stream).toBeDefined();
    const port = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = server.address() as net.AddressInfo;
        server.close(() => resolve(free));
      });
    });
    const uri = target(port);
    const dest = await Qemu.start(dir, 'dst', ['-incoming', 'defer']);
    try {
      await dest.execute('migrate-incoming', { uri: uri.kind === 'unix' ? `unix:${uri.path}` : `tcp:127.0.0.1:${port}` });
      const sink = await openOutgoing(uri);
      for (let offset = 0; offset < stream.length; offset += 1 << 20) {
        await sink.write(stream.subarray(offset, offset + (1 << 20)));
      }
      await sink.end();
      expect((await dest.migrationResult()).status).toBe('completed');
      expect((await dest.execute('query-status')).status).toBe('prelaunch');
    } finally {
      await dest.quit();
    }
  });
});
