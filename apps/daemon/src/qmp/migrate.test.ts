import type { MigrationStatus } from '@mig/core';
import { QmpError } from '@mig/qmp';
import { describe, expect, it, vi } from 'vitest';
import { MigrationSettings } from '../migration/settings.js';
import type { TransportContext } from '@mig/transports';
import { migrateHandlers, type MigrateControl } from './migrate.js';
import { call, qmpErrorOf } from '../../test/qmp-call.js';

function control(over: { incomingStatus?: MigrationStatus; runstate?: string; blocked?: string[]; incomingArg?: string } = {}) {
  const outgoing = {
    status: 'none' as MigrationStatus,
    start: vi.fn<(uri: string, descriptors?: TransportContext) => void>(),
    cancel: vi.fn(),
    queryMigrate: vi.fn((reasons: readonly string[]) => ({ status: 'completed', reasons })),
    queryProgress: vi.fn((): ReturnType<MigrateControl['outgoing']['queryProgress']> => undefined),
  };
  const incoming = {
    status: over.incomingStatus ?? ('none' as MigrationStatus),
    start: vi.fn(async (_uri: string, _descriptors?: TransportContext) => {}),
    queryMigrate: vi.fn(() => ({ status: 'active' })),
  };
  const blocked = over.blocked ?? [];
  const ctl: MigrateControl = {
    outgoing,
    incoming,
    vm: { runstate: over.runstate ?? 'running' },
    blockers: {
      check: () => {
        if (blocked.length > 0) throw new Error(blocked.join('; '));
      },
      list: () => blocked,
    },
    incomingArg: over.incomingArg,
    settings: new MigrationSettings(0),
  };
  return { ctl, outgoing, incoming, h: migrateHandlers(ctl) };
}

describe('migrate handlers', () => {
  it('migrate starts the outgoing migration with the URI', () => {
    const { h, outgoing } = control();
    call(h.migrate, { uri: 'tcp:127.0.0.1:4444' });
    expect(outgoing.start).toHaveBeenCalledWith('tcp:127.0.0.1:4444', undefined);
  });

  it("migrate refuses what mig cannot do, a waiting target, and a blocked guest, in QEMU's words", async () => {
    const { h, outgoing } = control();
    expect(await qmpErrorOf(() => call(h.migrate, { uri: 'unix:x', resume: true }))).toBe('GenericError: Postcopy resume is not supported by mig');
    const target = control({ incomingStatus: 'setup', runstate: 'inmigrate' });
    expect(await qmpErrorOf(() => call(target.h.migrate, { uri: 'unix:x' }))).toBe('GenericError: Guest is waiting for an incoming migration');
    const blocked = control({ blocked: ['device a is not migratable', 'b too'] });
    expect(await qmpErrorOf(() => call(blocked.h.migrate, { uri: 'unix:x' }))).toBe('GenericError: device a is not migratable; b too');
    expect(outgoing.start).not.toHaveBeenCalled();
    // a target whose load has run its guest may migrate on
    const loaded = control({ incomingStatus: 'completed', runstate: 'running' });
    call(loaded.h.migrate, { uri: 'unix:x' });
    expect(loaded.outgoing.start).toHaveBeenCalledOnce();
  });

  it('blk / inc turn capability block (and block-incremental) on for this migration, refused when already set', async () => {
    const { h, ctl, outgoing } = control();
    const settings = ctl.settings as MigrationSettings;
    call(h.migrate, { uri: 'unix:x', inc: true });
    expect(outgoing.start).toHaveBeenCalledOnce();
    expect([settings.capability('block'), settings.parameters['block-incremental']]).toEqual([true, true]);
    settings.migrationEnded();
    expect([settings.capability('block'), settings.parameters['block-incremental']]).toEqual([false, false]);
    settings.setCapabilities([{ capability: 'block', state: true }], 'none');
    expect(await qmpErrorOf(() => call(h.migrate, { uri: 'unix:x', blk: true }))).toBe('GenericError: Command options are incompatible with current migration capabilities');
    call(h.migrate, { uri: 'unix:x' });
    settings.migrationEnded(); // set by the user: stays on
    expect(settings.capability('block')).toBe(true);
    // a start that throws undoes what blk set
    const failing = control();
    failing.outgoing.start.mockImplementation(() => {
      throw new QmpError('GenericError', 'bad uri');
    });
    expect(await qmpErrorOf(() => call(failing.h.migrate, { uri: 'nope', blk: true }))).toMatch(/bad uri/);
    expect((failing.ctl.settings as MigrationSettings).capability('block')).toBe(false);
  });

  it("migrate-incoming needs '-incoming defer' and turns the controller's error into a QMP error", async () => {
    const plain = control();
    expect(await qmpErrorOf(() => call(plain.h['migrate-incoming'], { uri: 'tcp:0:0' }))).toBe("GenericError: '-incoming' was not specified on the command line");
    const deferred = control({ incomingArg: 'defer' });
    await call(deferred.h['migrate-incoming'], { uri: 'tcp:0:4444' });
    expect(deferred.incoming.start).toHaveBeenCalledWith('tcp:0:4444', undefined);
    deferred.incoming.start.mockImplementationOnce(() => {
      throw new Error('The incoming migration has already been started');
    });
    expect(await qmpErrorOf(() => call(deferred.h['migrate-incoming'], { uri: 'tcp:0:4444' }))).toBe('GenericError: The incoming migration has already been started');
    deferred.incoming.start.mockRejectedValueOnce(new Error('cannot listen for the migration stream on tcp:0:4444: address already in use (EADDRINUSE)'));
    expect(await qmpErrorOf(() => call(deferred.h['migrate-incoming'], { uri: 'tcp:0:4444' }))).toMatch(/^GenericError: cannot listen .*EADDRINUSE/);
  });

  it("both directions get the descriptors of the request's monitor, and a QmpError from them passes as it is", async () => {
    const deferred = control({ incomingArg: 'defer' });
    const asked: string[] = [];
    const ctl = { ...deferred.ctl, descriptors: {
      outgoing: (ctx: { monitor: number }) => ({ takeDescriptor: () => (asked.push(`out ${ctx.monitor}`), 5) }),
      incoming: (ctx: { monitor: number }) => ({ takeDescriptor: () => (asked.push(`in ${ctx.monitor}`), 6) }),
    } };
    const h = migrateHandlers(ctl);
    call(h.migrate, { uri: 'fd:a' }, { monitor: 3 });
    deferred.outgoing.start.mock.calls[0]?.[1]?.takeDescriptor?.('a');
    await call(h['migrate-incoming'], { uri: 'fd:b' }, { monitor: 4 });
    deferred.incoming.start.mock.calls[0]?.[1]?.takeDescriptor?.('b');
    expect(asked).toEqual(['out 3', 'in 4']);
    deferred.incoming.start.mockImplementationOnce(() => {
      throw new QmpError('GenericError', "File descriptor named 'b' has not been found");
    });
    expect(await qmpErrorOf(() => call(h['migrate-incoming'], { uri: 'fd:b' }))).toBe("GenericError: File descriptor named 'b' has not been found");
  });

  it('migrate_cancel cancels the outgoing migration', () => {
    const { h, outgoing } = control();
    call(h.migrate_cancel);
    expect(outgoing.cancel).toHaveBeenCalledOnce();
  });

  it("query-migrate is the target's reply once it has an incoming migration, else the source's with the blockers", () => {
    const source = control({ blocked: ['r1'] });
    expect(call(source.h['query-migrate'])).toEqual({ status: 'completed', reasons: ['r1'] });
    const target = control({ incomingStatus: 'active' });
    expect(call(target.h['query-migrate'])).toEqual({ status: 'active' });
    expect(target.outgoing.queryMigrate).not.toHaveBeenCalled();
  });

  it('x-mig-query-progress before any sync: zeros, converging, the current status', () => {
    const { h, outgoing } = control();
    outgoing.status = 'setup';
    expect(call(h['x-mig-query-progress'])).toEqual({
      status: 'setup', percent: 0, 'eta-ms': null, remaining: 0, total: 0, processed: 0, 'processing-rate': 0, 'remaining-min': 0, threshold: 0, 'dirty-rate': 0,
      bandwidth: 0, 'stalled-syncs': 0, converging: true, pass: 0, throttle: 0, advice: [],
    });
    const report = { status: 'active' as const, percent: 40 } as unknown as ReturnType<MigrateControl['outgoing']['queryProgress']>;
    outgoing.queryProgress.mockReturnValueOnce(report);
    expect(call(h['x-mig-query-progress'])).toBe(report);
  });
});
