import type { MigrationStatus } from '@mig/core';
import { describe, expect, it, vi } from 'vitest';
import { MigrationSettings } from '../migration/settings.js';
import { settingsHandlers } from './settings.js';
import { call, qmpErrorOf } from '../../test/qmp-call.js';

function control(status: MigrationStatus = 'none') {
  const settings = new MigrationSettings(64 << 20);
  const outgoing = { status, parametersChanged: vi.fn() };
  return { settings, outgoing, h: settingsHandlers({ settings, outgoing }) };
}

describe('settings handlers', () => {
  it('a parameter change reaches a running migration once; a refused one does not', async () => {
    const { h, settings, outgoing } = control('active');
    call(h['migrate-set-parameters'], { 'downtime-limit': 500 });
    expect(settings.parameters['downtime-limit']).toBe(500);
    expect(outgoing.parametersChanged).toHaveBeenCalledOnce();
    expect(await qmpErrorOf(() => call(h['migrate-set-parameters'], { 'downtime-limit': -1 }))).toMatch(/^GenericError: .*downtime_limit/);
    expect(outgoing.parametersChanged).toHaveBeenCalledOnce();
    expect(call(h['query-migrate-parameters'])).toMatchObject({ 'downtime-limit': 500 });
  });

  it('the legacy setters convert as QEMU does and tell the migration', () => {
    const { h, settings, outgoing } = control();
    call(h.migrate_set_speed, { value: 1 << 20 });
    expect(settings.parameters['max-bandwidth']).toBe(1 << 20);
    call(h.migrate_set_downtime, { value: 0.2 });
    expect(settings.parameters['downtime-limit']).toBe(200);
    call(h['migrate-set-cache-size'], { value: 8 << 20 });
    expect(call(h['query-migrate-cache-size'])).toBe(8 << 20);
    expect(outgoing.parametersChanged).toHaveBeenCalledTimes(3);
  });

  it('capabilities cannot change while a migration runs', async () => {
    const running = control('active');
    expect(await qmpErrorOf(() => call(running.h['migrate-set-capabilities'], { capabilities: [{ capability: 'xbzrle', state: true }] })))
      .toBe("GenericError: There's a migration process in progress");
    const idle = control('completed');
    call(idle.h['migrate-set-capabilities'], { capabilities: [{ capability: 'xbzrle', state: true }] });
    expect(call(idle.h['query-migrate-capabilities'])).toContainEqual({ capability: 'xbzrle', state: true });
  });
});
