// The migration controllers with their real worker threads, in one process: a source and a target over a
// unix socket, a target fed a truncated stream, cancels. The workers run from the built daemon (dist/), as
// worker threads load JavaScript: `pnpm test` builds first.
import { randomFillSync } from 'node:crypto';
import { fstatSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MigrationFailedError, type MigrationStatus } from '@mig/core';
import { socketPair } from '@mig/qmp';
import { StreamError } from '@mig/savevm';
import { hasRdmaDevice, TransportError } from '@mig/transports';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as HostMemoryModule from '../src/guest/host-memory.js';
import type * as VmModule from '../src/guest/vm.js';
import type * as IncomingModule from '../src/migration/incoming.js';
import type * as OutgoingModule from '../src/migration/outgoing.js';
import type * as SettingsModule from '../src/migration/settings.js';
import type * as RegistryModule from '../src/objects/registry.js';
import type { Logger } from '../src/log.js';

type Vm = VmModule.Vm;
type IncomingMigration = IncomingModule.IncomingMigration;
type OutgoingMigration = OutgoingModule.OutgoingMigration;

const RAM_BYTES = 4 << 20;
const dist = (path: string): Promise<unknown> => import(new URL(`../dist/${path}`, import.meta.url).href);

let mods: {
  Vm: typeof VmModule.Vm;
  IncomingMigration: typeof IncomingModule.IncomingMigration;
  OutgoingMigration: typeof OutgoingModule.OutgoingMigration;
  MigrationSettings: typeof SettingsModule.MigrationSettings;
  mapAnonymousMemory: typeof HostMemoryModule.mapAnonymousMemory;
  UserObjects: typeof RegistryModule.UserObjects;
};
let dir = '';

beforeAll(async () => {
  mods = {
    ...((await dist('guest/vm.js')) as typeof VmModule),
    ...((await dist('migration/incoming.js')) as typeof IncomingModule),
    ...((await dist('migration/outgoing.js')) as typeof OutgoingModule),
    ...((await dist('migration/settings.js')) as typeof SettingsModule),
    ...((await dist('guest/host-memory.js')) as typeof HostMemoryModule),
    ...((await dist('objects/registry.js')) as typeof RegistryModule),
  };
  dir = await mkdtemp(join(tmpdir(), 'mig-controllers-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface LogLine {
  level: string;
  message: string;
  fields?: Record<string, unknown> | undefined;
}

function recordingLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const add = (level: string) => (message: string, fields?: Record<string, unknown>) => lines.push({ level, message, fields });
  return { lines, info: add('info'), warn: add('warn'), error: add('error') };
}

function guest(runstate: 'running' | 'inmigrate', fill: boolean) {
  const memory = mods.mapAnonymousMemory(RAM_BYTES, 'test');
  if (fill) randomFillSync(memory.bytes);
  const vm = new mods.Vm(undefined, [{ idstr: 'ram', guestAddress: 0, memory }], runstate, true);
  const ram = [{ idstr: 'ram', guestAddress: 0, handle: { address: memory.address, size: memory.size } }];
  return { vm, ram, memory };
}

/** Every status the machine goes through, and a promise of its end. */
function watch(state: { onChange(fn: (c: { to: MigrationStatus }) => void): () => void }) {
  const seen: MigrationStatus[] = [];
  let ended: (s: MigrationStatus) => void = () => {};
  const end = new Promise<MigrationStatus>((resolve) => (ended = resolve));
  state.onChange(({ to }) => {
    seen.push(to);
    if (to === 'completed' || to === 'failed' || to === 'cancelled') ended(to);
  });
  return { seen, end };
}

function target(log = recordingLogger()): { incoming: IncomingMigration; vm: Vm; log: typeof log; bytes: Uint8Array } {
  const g = guest('inmigrate', false);
  return { incoming: new mods.IncomingMigration(g.vm, 'none', g.ram, new mods.MigrationSettings(RAM_BYTES), new mods.UserObjects(), log), vm: g.vm, log, bytes: g.memory.bytes };
}

function source(log = recordingLogger(), maxBandwidth?: number): { outgoing: OutgoingMigration; vm: Vm; log: typeof log; bytes: Uint8Array } {
  const g = guest('running', true);
  const settings = new mods.MigrationSettings(RAM_BYTES);
  if (maxBandwidth !== undefined) settings.setParameters({ 'max-bandwidth': maxBandwidth });
  const outgoing = new mods.OutgoingMigration(g.vm, 'none', g.ram, settings, new mods.UserObjects(), log, { onPass: () => {} });
  return { outgoing, vm: g.vm, log, bytes: g.memory.bytes };
}

describe('migration controllers with their workers', () => {
  it('a source and a target walk QEMU 7.2 states to completed; the guest moves over', async () => {
    const dst = target();
    const src = source();
    const uri = `unix:${join(dir, 'ok.sock')}`;
    const dstSeen = watch(dst.incoming.state);
    const srcSeen = watch(src.outgoing.state);
    await dst.incoming.start(uri);
    src.outgoing.start(uri);
    expect([await srcSeen.end, await dstSeen.end]).toEqual(['completed', 'completed']);
    expect(srcSeen.seen).toEqual(['setup', 'active', 'completed']);
    expect(dstSeen.seen).toEqual(['setup', 'active', 'completed']);
    expect(dst.incoming.state.status).toBe('completed');
    expect([src.vm.runstate, dst.vm.runstate]).toEqual(['postmigrate', 'running']);
    expect(Buffer.compare(dst.bytes, src.bytes)).toBe(0);
    expect(dst.incoming.queryMigrate()).toEqual({ status: 'completed' });
    expect(() => dst.incoming.start(uri)).toThrow('The incoming migration has already been started');
  });

  it('a truncated stream fails the target with a StreamError (offset, record) in error-desc and the log', async () => {
    const file = join(dir, 'whole.stream');
    const src = source();
    const srcEnd = watch(src.outgoing.state).end;
    src.outgoing.start(`exec:cat > ${file}`);
    expect(await srcEnd).toBe('completed');

    const dst = target();
    const seen = watch(dst.incoming.state);
    await dst.incoming.start(`exec:head -c 100000 ${file}`);
    expect(await seen.end).toBe('failed');
    expect(seen.seen).toEqual(['setup', 'active', 'failed']);
    const err = dst.incoming.error as StreamError;
    expect(err).toBeInstanceOf(StreamError);
    expect(err.offset).toBeGreaterThan(0);
    expect(err.offset).toBeLessThanOrEqual(100000);
    expect(err.record).toMatch(/^ram /);
    expect(dst.incoming.queryMigrate()).toEqual({ status: 'failed', 'error-desc': err.message });
    expect(err.message).toMatch(new RegExp(`record at byte ${err.offset}: `));
    const line = dst.log.lines.find((l) => l.level === 'error')!;
    expect(line.message).toBe(`load of migration failed: ${err.message}`);
    expect(line.fields).toMatchObject({ error: 'StreamError', offset: err.offset, record: err.record });
    expect(dst.vm.runstate).toBe('inmigrate');
  });

  it('a cancel of a waiting target goes through cancelling to cancelled and ends its worker', async () => {
    const dst = target();
    const seen = watch(dst.incoming.state);
    await dst.incoming.start(`unix:${join(dir, 'waiting.sock')}`);
    dst.incoming.cancel();
    expect(dst.incoming.status).toBe('cancelling');
    expect(await seen.end).toBe('cancelled');
    expect(seen.seen).toEqual(['setup', 'cancelling', 'cancelled']);
    expect(dst.incoming.queryMigrate()).toEqual({ status: 'cancelled' });
  });

  it('a refused connection fails the source with a MigrationFailedError (phase open) whose cause is the TransportError', async () => {
    const src = source();
    const seen = watch(src.outgoing.state);
    const uri = `unix:${join(dir, 'nobody.sock')}`;
    src.outgoing.start(uri);
    expect(await seen.end).toBe('failed');
    expect(seen.seen).toEqual(['setup', 'failed']);
    const reply = src.outgoing.queryMigrate();
    expect(reply['status']).toBe('failed');
    expect(reply['error-desc']).toBe(`cannot connect the migration stream to ${uri}: no such file or directory (ENOENT)`);
    const err = src.outgoing.error as MigrationFailedError;
    expect(err).toBeInstanceOf(MigrationFailedError);
    expect(err.phase).toBe('open');
    expect(err.message).toBe(reply['error-desc']);
    expect(err.cause).toBeInstanceOf(TransportError);
    expect((err.cause as TransportError).endpoint).toBe(uri);
    const line = src.log.lines.find((l) => l.level === 'error')!;
    expect(line.fields).toMatchObject({ error: 'MigrationFailedError', phase: 'open', endpoint: uri, code: 'ENOENT' });
    expect(src.vm.runstate).toBe('running');
  });

  it('migrate_cancel while active: the source ends cancelled with its guest running, the target failed', async () => {
    const dst = target();
    const src = source(recordingLogger(), 1 << 20); // 1 MiB/s: seconds for 4 MiB of random pages
    const uri = `unix:${join(dir, 'cancel.sock')}`;
    const dstSeen = watch(dst.incoming.state);
    const srcSeen = watch(src.outgoing.state);
    await dst.incoming.start(uri);
    src.outgoing.start(uri);
    while (src.outgoing.status !== 'active') await new Promise((r) => setTimeout(r, 10));
    src.outgoing.cancel();
    expect(src.outgoing.status).toBe('cancelling');
    src.outgoing.cancel(); // a second cancel changes nothing
    expect(await srcSeen.end).toBe('cancelled');
    expect(srcSeen.seen).toEqual(['setup', 'active', 'cancelling', 'cancelled']);
    expect(src.vm.runstate).toBe('running');
    expect(await dstSeen.end).toBe('failed');
    expect(dst.incoming.error).toBeInstanceOf(Error);
    expect(src.outgoing.queryMigrate()['status']).toBe('cancelled');
    // and a new migration may start after the cancelled one, unaffected by the old worker's exit
    const again = watch(src.outgoing.state);
    src.outgoing.start(`unix:${join(dir, 'nobody-either.sock')}`);
    expect(await again.end).toBe('failed');
    expect(again.seen).toEqual(['setup', 'failed']);
  });

  it('fd: a socket pair handed to both sides; each migration takes its descriptor and closes it at the end', async () => {
    const dst = target();
    const src = source();
    const [a, b] = socketPair();
    const asked: string[] = [];
    const hand = (fd: number) => ({ takeDescriptor: (name: string) => (asked.push(name), fd) });
    const dstSeen = watch(dst.incoming.state);
    const srcSeen = watch(src.outgoing.state);
    await dst.incoming.start('fd:in', hand(b));
    src.outgoing.start('fd:out', hand(a));
    expect(asked).toEqual(['in', 'out']);
    expect(await srcSeen.end).toBe('completed');
    expect(await dstSeen.end).toBe('completed');
    expect(Buffer.compare(dst.bytes, src.bytes)).toBe(0);
    for (const fd of [a, b]) expect(() => fstatSync(fd)).toThrow(/EBADF/);
  });

  it('rdma: without an RDMA device and an unknown fd name are refused at once, before any state changes', async () => {
    const src = source();
    const dst = target();
    if (!hasRdmaDevice()) {
      expect(() => src.outgoing.start('rdma:127.0.0.1:4444')).toThrow('rdma:127.0.0.1:4444: no RDMA device was found (libibverbs lists none)');
      expect(() => dst.incoming.start('rdma:127.0.0.1:4444')).toThrow('rdma:127.0.0.1:4444: no RDMA device was found (libibverbs lists none)');
    }
    const none = { takeDescriptor: (name: string): number => {
      throw new Error(`File descriptor named '${name}' has not been found`);
    } };
    expect(() => src.outgoing.start('fd:nope', none)).toThrow("File descriptor named 'nope' has not been found");
    expect(() => dst.incoming.start('fd:nope', none)).toThrow("File descriptor named 'nope' has not been found");
    expect(src.outgoing.status).toBe('none');
    expect(dst.incoming.status).toBe('none');
  });
});
