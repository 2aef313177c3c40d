import { describe, expect, it } from 'vitest';
import {
  MIGRATION_CAPABILITIES,
  SUPPORTED_CAPABILITIES,
  applyCapabilities,
  defaultCapabilities,
  queryCapabilities,
} from './capabilities.js';
import { CapabilityError, MigrationActiveError, ParameterError } from './errors.js';

// query-migrate-capabilities of qemu-system-x86_64 7.2 here, in its order.
const QEMU_72_ORDER = [
  'xbzrle', 'rdma-pin-all', 'auto-converge', 'zero-blocks', 'compress', 'events', 'postcopy-ram', 'x-colo',
  'release-ram', 'block', 'return-path', 'pause-before-switchover', 'multifd', 'dirty-bitmaps',
  'postcopy-blocktime', 'late-block-activate', 'x-ignore-shared', 'validate-uuid', 'background-snapshot',
  'zero-copy-send', 'postcopy-preempt',
];

describe('capabilities', () => {
  it('query lists every QEMU 7.2 capability in its order, all off at first', () => {
    const reply = queryCapabilities(defaultCapabilities());
    expect(reply.map((c) => c.capability)).toEqual(QEMU_72_ORDER);
    expect(reply.every((c) => c.state === false)).toBe(true);
    expect(MIGRATION_CAPABILITIES).toEqual(QEMU_72_ORDER);
  });

  it('enables the supported ones, later entries winning, without touching the current set', () => {
    const cur = defaultCapabilities();
    const next = applyCapabilities(
      cur,
      [
        { capability: 'xbzrle', state: true },
        { capability: 'events', state: true },
        { capability: 'events', state: false },
        { capability: 'auto-converge', state: true },
      ],
      { status: 'none' },
    );
    expect(next.xbzrle).toBe(true);
    expect(next.events).toBe(false);
    expect(next['auto-converge']).toBe(true);
    expect(cur.xbzrle).toBe(false);
    expect(queryCapabilities(next).filter((c) => c.state).map((c) => c.capability)).toEqual(['xbzrle', 'auto-converge']);
    for (const c of SUPPORTED_CAPABILITIES) {
      expect(applyCapabilities(cur, [{ capability: c, state: true }], { status: 'completed' })[c]).toBe(true);
    }
  });

  it('refuses to enable one mig does not implement, but allows setting it off', () => {
    const cur = defaultCapabilities();
    expect(() => applyCapabilities(cur, [{ capability: 'xbzrle', state: true }, { capability: 'postcopy-ram', state: true }], { status: 'none' }))
      .toThrow(new CapabilityError('postcopy-ram', "Capability 'postcopy-ram' is not supported by mig"));
    expect(applyCapabilities(cur, [{ capability: 'multifd', state: false }], { status: 'none' }).multifd).toBe(false);
  });

  it.each(['setup', 'active', 'cancelling'] as const)('refuses any change while the migration is %s', (status) => {
    expect(() => applyCapabilities(defaultCapabilities(), [], { status })).toThrow(MigrationActiveError);
    expect(() => applyCapabilities(defaultCapabilities(), [], { status })).toThrow("There's a migration process in progress");
  });

  it.each([
    [undefined, "Parameter 'capabilities' is missing"],
    [{}, "Invalid parameter type for 'capabilities', expected: array"],
    [[{ capability: 'xbzrle' }], "Parameter 'capabilities[0].state' is missing"],
    [[{ capability: 'xbzrle', state: 1 }], "Invalid parameter type for 'capabilities[0].state', expected: boolean"],
    [[{ capability: 'bogus', state: true }], "Parameter 'capability' does not accept value 'bogus'"],
    [[{ capability: 'xbzrle', state: true, x: 1 }], "Parameter 'capabilities[0].x' is unexpected"],
    [[5], "Invalid parameter type for 'capabilities[0]', expected: object"],
  ])('malformed list %j → %s (QEMU 7.2 messages)', (list, message) => {
    expect(() => applyCapabilities(defaultCapabilities(), list, { status: 'none' })).toThrow(ParameterError);
    expect(() => applyCapabilities(defaultCapabilities(), list, { status: 'none' })).toThrow(message);
  });
});
