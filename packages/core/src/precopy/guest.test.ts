import { describe, expect, it } from 'vitest';
import { MigrationFailedError } from '../errors.js';
import { GuestControl } from './guest.js';

describe('GuestControl', () => {
  it('stop() keeps the runstate; resume() restarts with it, once', async () => {
    const resumed: string[] = [];
    const g = new GuestControl({ stopGuest: async () => 'paused', resumeGuest: (rs) => void resumed.push(rs) });
    expect(g.inDowntime).toBe(false);
    await g.resume(); // not stopped: nothing to do
    expect(resumed).toEqual([]);
    await g.stop();
    expect(g.stopped).toBe(true);
    expect(g.runstate).toBe('paused');
    expect(g.inDowntime).toBe(true);
    await g.resume();
    await g.resume();
    expect(resumed).toEqual(['paused']);
    expect(g.stopped).toBe(false);
  });

  it('a guest that is not running (-S) is in downtime before any stop', () => {
    let running = false;
    const g = new GuestControl({ stopGuest: () => 'prelaunch', resumeGuest: () => {}, isGuestRunning: () => running });
    expect(g.inDowntime).toBe(true);
    running = true;
    expect(g.inDowntime).toBe(false);
  });

  it("a stopGuest that throws fails the migration ('stop-guest') and leaves the guest counted as running", async () => {
    const cause = new Error('vCPUs did not stop');
    const g = new GuestControl({ stopGuest: () => { throw cause; }, resumeGuest: () => {} });
    const err = await g.stop().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationFailedError);
    expect(err).toMatchObject({ phase: 'stop-guest', message: 'migration failed to stop the guest: vCPUs did not stop', cause });
    expect(g.stopped).toBe(false);
  });

  it('keeps what resumeGuest throws instead of throwing it', async () => {
    const oops = new Error('cannot restart vCPUs');
    const g = new GuestControl({ stopGuest: () => 'running', resumeGuest: async () => { throw oops; } });
    await g.stop();
    await expect(g.resume()).resolves.toBeUndefined();
    expect(g.resumeError).toBe(oops);
  });
});
