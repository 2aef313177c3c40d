// mig-daemon's QMP under hostile clients, against real daemon processes and sockets: a 100 MB request line,
// nesting past QEMU's bound (answered as QEMU 7.2 answers it), 1,000 connections dropped at every stage, a
// client that never reads, all while a 256 MiB mig → mig migration keeps its rate; the socket is owner-only.
import { readdirSync, statSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  cleanupAll, cleanupVms, fillRamFile, launchVm, processMemory, QEMU_SKIP_MESSAGE, requireQemu, sampleMemory, tmpDir, type Vm,
} from '@mig/test-helpers';

const MiB = 1 << 20;
const hasQemu = requireQemu();

/** A raw QMP peer: lines in, parsed replies out (no client library in between). */
class Peer {
  private buf = '';
  private readonly replies: Record<string, unknown>[] = [];
  private wake: (() => void) | undefined;
  closed = false;
  private constructor(readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      this.buf += d;
      for (let nl = this.buf.indexOf('\n'); nl >= 0; nl = this.buf.indexOf('\n')) {
        this.replies.push(JSON.parse(this.buf.slice(0, nl)) as Record<string, unknown>);
        this.buf = this.buf.slice(nl + 1);
      }
      this.wake?.();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
  }

  static async open(path: string, negotiate = true): Promise<Peer> {
    const s = net.connect(path);
    await new Promise<void>((resolve, reject) => s.once('connect', resolve).once('error', reject));
    const p = new Peer(s);
    if (negotiate) {
      await p.next(); // greeting
      p.send('{"execute":"qmp_capabilities"}');
      expect(await p.next()).toEqual({ return: {} });
    }
    return p;
  }

  /** The next reply that is not an event. */
  async next(): Promise<Record<string, unknown>> {
    for (;;) {
      const i = this.replies.findIndex((r) => !('event' in r));
      if (i >= 0) return this.replies.splice(0, i + 1).pop()!;
      if (this.closed) throw new Error('QMP connection closed');
      await new Promise<void>((r) => (this.wake = r));
    }
  }

  send(line: string): boolean {
    return this.socket.write(`${line}\n`);
  }

  async request(line: string): Promise<Record<string, unknown>> {
    this.send(line);
    return this.next();
  }
}

const openFds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;
const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

/** Writes `bytes` of a string member's body in 1 MiB writes, waiting on the socket as a client must. */
async function writeFiller(socket: net.Socket, bytes: number): Promise<void> {
  const chunk = Buffer.alloc(MiB, 0x78);
  for (let sent = 0; sent < bytes; sent += chunk.length) {
    if (!socket.write(chunk)) await new Promise((r) => socket.once('drain', r));
  }
}

/** Opens `count` connections, `batch` at a time, and drops each at a stage chosen by its number. */
async function connectionStorm(path: string, count: number, batch = 25, keepGoing = () => false): Promise<number> {
  const stage = async (i: number): Promise<void> => {
    const s = net.connect(path);
    s.on('error', () => {});
    await new Promise((r) => s.once('connect', r).once('error', r));
    switch (i % 5) {
      case 0: return void s.destroy(); // before the greeting is read
      case 1: await new Promise((r) => s.once('data', r).once('close', r)); return void s.destroy(); // after it
      default: break;
    }
    await new Promise((r) => s.once('data', r).once('close', r));
    s.write('{"execute":"qmp_capabilities"}\n{"execute":"query-sta');
    if (i % 5 === 2) return void s.destroy(); // mid-request
    s.write('tus"}\n{"execute":"query-migrate"}\n{"execute":"query-commands"}\n');
    if (i % 5 === 3) return void s.end(); // requests sent, our side half-closed, replies unread
    s.destroy(); // requests sent, gone at once
  };
  let done = 0;
  while (done < count || keepGoing()) {
    await Promise.all(Array.from({ length: batch }, (_, k) => stage(done + k)));
    done += batch;
  }
  return done;
}

/** A client that pipelines requests and never reads a reply or an event. */
async function deafClient(path: string): Promise<Peer> {
  const p = await Peer.open(path);
  p.socket.pause();
  p.send('{"execute":"migrate-set-capabilities","arguments":{"capabilities":[{"capability":"events","state":true}]}}');
  const line = '{"execute":"query-commands"}\n';
  p.socket.write(line.repeat(20_000)); // ~600 KB of requests, ~60 MB of replies if they were all made
  return p;
}

/** Answers query-status every 100 ms, recording the slowest answer. */
function watcher(peer: Peer): { stop(): Promise<{ answers: number; slowestMs: number }> } {
  let running = true;
  let answers = 0;
  let slowestMs = 0;
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      expect((await peer.request('{"execute":"query-status"}'))['return']).toBeDefined();
      slowestMs = Math.max(slowestMs, performance.now() - t0);
      answers++;
      await sleep(100);
    }
  })();
  return { stop: async () => ((running = false), await loop, { answers, slowestMs }) };
}

function expectHealthy(vm: Vm): void {
  expect(vm.proc.exitCode).toBeNull();
  expect(vm.stderr).not.toMatch(/Uncaught|Unhandled|TypeError|RangeError|internal error/);
}

describe('mig-daemon QMP hardening', () => {
  afterEach(cleanupVms);
  afterAll(cleanupAll);

  it('a 100 MB request line: the size error, nothing buffered, the connection and the others go on', async () => {
    const vm = await launchVm({ kind: 'mig', ramMiB: 64 });
    const pid = vm.proc.pid!;
    const p = await Peer.open(vm.qmpPath);
    const other = await Peer.open(vm.qmpPath);
    await sleep(500); // let the daemon settle before the baseline
    const before = processMemory(pid);
    const sampler = sampleMemory(pid, 20);
    p.socket.write('{"execute":"query-status","id":"');
    await writeFiller(p.socket, 100 * MiB);
    p.send('"}');
    const reply = await p.next();
    const peak = sampler.stop();
    expect(reply).toEqual({ error: { class: 'GenericError', desc: 'JSON token size limit exceeded (a request line may hold at most 1048576 bytes)' } });
    expect(await p.request('{"execute":"query-status","id":2}')).toMatchObject({ id: 2, return: { status: 'running' } });
    expect(await other.request('{"execute":"query-status","id":3}')).toMatchObject({ id: 3 });
    const growth = peak.anon - before.anon;
    console.log(`100 MB line: daemon RssAnon ${(before.anon / MiB).toFixed(1)} MiB before, peak ${(peak.anon / MiB).toFixed(1)} MiB (+${(growth / MiB).toFixed(1)} MiB, ${peak.samples} samples)`);
    // read buffers awaiting GC, whatever the line size; the line itself held would be over 100 MiB
    expect(growth).toBeLessThan(64 * MiB);
    expect(vm.stderr).toContain('a request line over 1048576 bytes; discarding it up to its newline');
    expectHealthy(vm);
  }, 120_000);

  it('1,000 connections dropped at every stage and a client that never reads: others served, no descriptor kept', async () => {
    const vm = await launchVm({ kind: 'mig', ramMiB: 64 });
    const pid = vm.proc.pid!;
    const watch = watcher(await Peer.open(vm.qmpPath));
    await sleep(300);
    const fdsBefore = openFds(pid);
    const memBefore = processMemory(pid);
    const sampler = sampleMemory(pid, 50);
    const deaf = await deafClient(vm.qmpPath);
    const stormed = await connectionStorm(vm.qmpPath, 1000);
    await sleep(500);
    const whileDeaf = openFds(pid);
    deaf.socket.destroy();
    const peak = sampler.stop();
    const { answers, slowestMs } = await watch.stop();
    let fdsAfter = openFds(pid);
    for (let i = 0; i < 50 && fdsAfter > fdsBefore; i++) fdsAfter = (await sleep(100), openFds(pid));
    console.log(`storm: ${stormed} connections; daemon fds ${fdsBefore} before, ${whileDeaf} with the deaf client, ${fdsAfter} after; ` +
      `RssAnon +${((peak.anon - memBefore.anon) / MiB).toFixed(1)} MiB peak; watcher ${answers} answers, slowest ${slowestMs.toFixed(0)} ms`);
    expect(stormed).toBeGreaterThanOrEqual(1000);
    expect(fdsAfter).toBeLessThanOrEqual(fdsBefore);
    expect(answers).toBeGreaterThan(0);
    expect(slowestMs).toBeLessThan(5000); // generous: the machine is shared
    // 20,000 query-commands replies would be ~60 MB: the deaf client was held back instead
    expect(peak.anon - memBefore.anon).toBeLessThan(48 * MiB);
    const late = await Peer.open(vm.qmpPath);
    expect(await late.request('{"execute":"query-status","id":"late"}')).toMatchObject({ id: 'late' });
    expectHealthy(vm);
  }, 180_000);

  it('a 256 MiB mig → mig migration keeps its rate while the storm and the deaf client run on the source', async () => {
    const dir = await tmpDir('mig-qmp-hardening-');
    const ramFile = join(dir, 'src.ram');
    await fillRamFile(ramFile, 256 * MiB, { seed: 5, zeroFraction: 0.1 });
    const migrate = async (abuse: boolean): Promise<number> => {
      const uri = `unix:${join(dir, `mig-${abuse ? 'abused' : 'quiet'}.sock`)}`;
      const target = await launchVm({ kind: 'mig', ramMiB: 256, incoming: uri, dir });
      const source = await launchVm({ kind: 'mig', ramMiB: 256, ramFile, dir });
      await source.qmp.execute('migrate-set-parameters', { 'max-bandwidth': 128 * MiB }); // QEMU's default
      let migrating = true;
      const deaf = abuse ? await deafClient(source.qmpPath) : undefined;
      const storm = abuse ? connectionStorm(source.qmpPath, 1000, 25, () => migrating) : Promise.resolve(0);
      await source.qmp.execute('migrate', { uri });
      const done = await source.waitForMigration(['completed', 'failed'], 120_000);
      migrating = false;
      const stormed = await storm;
      deaf?.socket.destroy();
      expect(done.status).toBe('completed');
      expect((await target.waitForMigration(['completed'], 30_000)).status).toBe('completed');
      const rate = done.ram!['transferred']! / (done['total-time']! / 1000);
      console.log(`migration ${abuse ? `with abuse (${stormed} connections stormed)` : 'quiet'}: ` +
        `${(done.ram!['transferred']! / MiB).toFixed(0)} MiB in ${done['total-time']} ms = ${(rate / MiB).toFixed(1)} MiB/s`);
      expectHealthy(source);
      await source.quit();
      await target.quit();
      return rate;
    };
    const quiet = await migrate(false);
    const abused = await migrate(true);
    console.log(`migration rate under abuse: ${((abused / quiet) * 100).toFixed(0)} % of the quiet rate`);
    expect(abused).toBeGreaterThanOrEqual(0.5 * quiet);
  }, 300_000);

  it('the unix QMP socket is owner-only; mode= opts out', async () => {
    const dir = await tmpDir('mig-qmp-mode-');
    const shared = join(dir, 'shared.sock');
    const asUmask = join(dir, 'umask.sock');
    const vm = await launchVm({
      kind: 'mig', ramMiB: 16, dir,
      extraArgs: ['-qmp', `unix:${shared},server=on,wait=off,mode=0660`, '-qmp', `unix:${asUmask},server=on,wait=off,mode=umask`],
    });
    const mode = (path: string) => statSync(path).mode & 0o777;
    expect(mode(vm.qmpPath)).toBe(0o600);
    expect(mode(shared)).toBe(0o660);
    const umask = process.umask(); // the daemon inherits ours
    expect(mode(asUmask)).toBe(0o777 & ~umask);
    expect(await (await Peer.open(shared)).request('{"execute":"query-status","id":1}')).toMatchObject({ id: 1 });
  }, 60_000);
});

describe.skipIf(!hasQemu)(`QMP limits as QEMU 7.2 has them${hasQemu ? '' : ` (${QEMU_SKIP_MESSAGE})`}`, () => {
  afterEach(cleanupVms);

  it('nesting past 1024 gets the same error from both; 1024 deep is answered by both', async () => {
    for (const kind of ['qemu', 'mig'] as const) {
      const vm = await launchVm({ kind, ramMiB: 16 });
      await vm.qmp.close(); // QEMU's monitor serves one client at a time
      const p = await Peer.open(vm.qmpPath);
      const ok = await p.request(`{"execute":"query-status","id":${nested(1023)}}`);
      expect(ok['id'], kind).toEqual(JSON.parse(nested(1023)));
      expect(await p.request(`{"execute":"query-status","id":${nested(1024)}}`), kind).toEqual({
        error: { class: 'GenericError', desc: 'JSON nesting depth limit exceeded' },
      });
      // QEMU then lexes the rest of that message as new input (an error per stray bracket); mig drops the line
      p.send('{"execute":"query-status","id":"after"}');
      for (;;) {
        const r = await p.next();
        if (r['id'] === 'after') break;
        expect(r, kind).toEqual({ error: { class: 'GenericError', desc: 'JSON parse error, expecting value' } });
        expect(kind).toBe('qemu');
      }
    }
  }, 60_000);

  it('QEMU 7.2 leaves its socket to the umask (what mode=umask gives)', async () => {
    const vm = await launchVm({ kind: 'qemu', ramMiB: 16 });
    expect(statSync(vm.qmpPath).mode & 0o777).toBe(0o777 & ~process.umask());
  }, 60_000);
});
