// Backpressure over every transport with a peer here: the target reads slowly (a throttled reader copies the
// stream at RATE), so the source's writes wait; its own memory (RssAnon, /proc) must not grow by anything like
// the guest RAM it sends. Without backpressure the source would queue the RAM in buffers. Guest RAM is
// backed by a file (file pages, not anon), so RssAnon is the daemon's heap and buffers alone.
//   tcp, unix: the target is `-incoming exec:` of the throttled reader, which listens where the source connects
//   exec:      the source's `migrate exec:` command is the throttled reader, which feeds the target's unix socket
//   fd:        a socket pair from the harness: one end to the source (getfd), the throttled reader on the other
// And a migrate_cancel mid-stream closes each transport: the target sees a stream that is not whole.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanupAll, closeDescriptor, fillRamFile, freePort, handDescriptor, launchVm, onCleanup, processMemory, sampleMemory,
  sha256File, slowReaderCommand, socketPair, startMigration, tmpDir, type Vm,
} from '@mig/test-helpers';

const RAM_MIB = 256;
const RATE = 80 << 20; // bytes per second: about 3 s for the RAM
/**
 * What the source may grow by while it sends 256 MiB. Any migration costs it about 45 MiB here whatever the
 * RAM size or speed (the worker thread's heap, the 4 MiB sink mark); a source without backpressure would
 * grow by most of the RAM.
 */
const BOUND = 96 << 20;

type Transport = 'tcp' | 'unix' | 'exec' | 'fd';

interface Setup {
  target: Vm;
  /** The URI the source migrates to (after `prepare`). */
  uri: string;
  /** Runs on the source before `migrate` (fd: hands the descriptor over). */
  prepare?: (source: Vm) => Promise<void>;
}

async function waitForFile(path: string): Promise<void> {
  for (let i = 0; i < 400 && !existsSync(path); i++) await sleep(25);
  if (!existsSync(path)) throw new Error(`${path} did not appear: the throttled reader did not start`);
}

/** The target and the throttled reader in front of it, for one transport. */
async function slowTarget(transport: Transport, dir: string, ramMiB: number): Promise<Setup> {
  const targetSock = join(dir, 'target.sock');
  const ready = join(dir, 'reader.ready');
  const launch = (incoming: string) => launchVm({ kind: 'mig', ramMiB, incoming, dir, name: 'target' });
  switch (transport) {
    case 'tcp':
    case 'unix': {
      const where: `tcp:${string}` | `unix:${string}` =
        transport === 'tcp' ? `tcp:127.0.0.1:${await freePort()}` : `unix:${join(dir, 'reader.sock')}`;
      const target = await launch(`exec:${slowReaderCommand({ from: `listen:${where}`, rate: RATE, ready })}`);
      await waitForFile(ready);
      return { target, uri: where };
    }
    case 'exec': {
      const target = await launch(`unix:${targetSock}`);
      return { target, uri: `exec:${slowReaderCommand({ from: 'stdin', to: `unix:${targetSock}`, rate: RATE })}` };
    }
    case 'fd': {
      const target = await launch(`unix:${targetSock}`);
      const [mine, readers] = socketPair();
      const reader = spawn('/bin/sh', ['-c', slowReaderCommand({ from: 'stdin', to: `unix:${targetSock}`, rate: RATE })], {
        stdio: [readers, 'ignore', 'inherit'],
      });
      onCleanup(async () => {
        if (reader.exitCode === null) reader.kill('SIGKILL');
      });
      closeDescriptor(readers);
      return {
        target,
        uri: 'fd:slow',
        prepare: async (source) => {
          await handDescriptor(source, 'slow', mine);
          closeDescriptor(mine);
        },
      };
    }
  }
}

describe('every transport with a peer here, behind a slow reader: backpressure and cancel', () => {
  afterEach(cleanupAll);

  it.each(['tcp', 'unix', 'exec', 'fd'] as const)('%s: the source’s own memory stays bounded while the target reads slowly', async (transport) => {
    const dir = await tmpDir(`mig-backpressure-${transport}-`);
    const ramFile = join(dir, 'src.ram');
    await fillRamFile(ramFile, RAM_MIB << 20, { seed: 901, zeroFraction: 0 });
    const fileHash = await sha256File(ramFile);
    const { target, uri, prepare } = await slowTarget(transport, dir, RAM_MIB);
    const source = await launchVm({ kind: 'mig', ramMiB: RAM_MIB, ramFile, dir, name: 'source' });
    await prepare?.(source);
    const pid = source.proc.pid!;
    const before = processMemory(pid);
    const sampler = sampleMemory(pid, 20);
    const started = Date.now();
    await startMigration(source, uri);
    const srcReply = await source.waitForMigration();
    const took = Date.now() - started;
    const max = sampler.stop();
    expect(srcReply.status, `${JSON.stringify(srcReply)}\n${source.stderr}`).toBe('completed');
    expect((await target.waitForMigration()).status, target.stderr).toBe('completed');
    expect(await target.hashRam()).toBe(fileHash);
    // the reader was the bottleneck: the RAM cannot have gone faster than RATE
    expect(took).toBeGreaterThan(((RAM_MIB << 20) / RATE) * 1000 * 0.8);
    const grew = max.anon - before.anon;
    console.log(`${transport}: ${RAM_MIB} MiB in ${took} ms; source RssAnon ${before.anon >> 20} → max ${max.anon >> 20} MiB (+${grew >> 20} MiB, ${max.samples} samples)`);
    expect(max.samples).toBeGreaterThan(50);
    expect(grew).toBeLessThan(BOUND);
  });

  it.each(['tcp', 'unix', 'exec', 'fd'] as const)('%s: migrate_cancel mid-stream closes the transport: the target fails, the source runs on intact', async (transport) => {
    const dir = await tmpDir(`mig-cancel-${transport}-`);
    const ramFile = join(dir, 'src.ram');
    const ramMiB = 128; // about 1.6 s at RATE: the cancel lands after 32 MiB
    await fillRamFile(ramFile, ramMiB << 20, { seed: 902, zeroFraction: 0 });
    const fileHash = await sha256File(ramFile);
    const { target, uri, prepare } = await slowTarget(transport, dir, ramMiB);
    const source = await launchVm({ kind: 'mig', ramMiB, ramFile, dir, name: 'source' });
    await prepare?.(source);
    await startMigration(source, uri);
    for (;;) {
      const r = await source.waitForMigration(['active', 'completed', 'failed']);
      if (r.status !== 'active') throw new Error(`migration ended before the cancel: ${JSON.stringify(r)}`);
      if ((r.ram?.transferred ?? 0) > 32 << 20) break;
      await sleep(20);
    }
    const cancelled = Date.now();
    await source.qmp.execute('migrate_cancel');
    expect((await source.waitForMigration(undefined, 10_000)).status).toBe('cancelled');
    expect(Date.now() - cancelled).toBeLessThan(5_000);
    expect(await source.runState()).toBe('running');
    expect(await source.hashRam()).toBe(fileHash);
    // the source closed its end: the reader sees the end of a stream that is not whole, and so does the target
    expect((await target.waitForMigration(undefined, 20_000)).status).toBe('failed');
  });
});
