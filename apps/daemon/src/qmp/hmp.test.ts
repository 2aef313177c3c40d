import { describe, expect, it, vi } from 'vitest';
import { hmpHandlers } from './hmp.js';
import { call } from '../../test/qmp-call.js';

describe('human-monitor-command', () => {
  const qemuIo = vi.fn(async (rest: string) => `qemu-io got ${rest}`);
  const h = hmpHandlers({ runstate: () => 'paused', queryMigrate: () => ({ status: 'active' }), qemuIo });
  const hmp = (line: string) => call(h['human-monitor-command'], { 'command-line': line });

  it('answers info status and info migrate as HMP lines', () => {
    expect(hmp('info status')).toBe('VM status: paused\r\n');
    expect(hmp('  info migrate ')).toBe('{"status":"active"}\r\n');
  });

  it('hands qemu-io what follows its name', async () => {
    expect(await hmp('qemu-io d0 "write 0 4k"')).toBe('qemu-io got  d0 "write 0 4k"');
    expect(qemuIo).toHaveBeenCalledTimes(1);
    expect(hmp('qemu-iox d0')).toBe("unknown command: 'qemu-iox'\r\n");
  });

  it('names an unknown command by its first word', () => {
    expect(hmp('savevm snap1')).toBe("unknown command: 'savevm'\r\n");
    expect(hmp('')).toBe("unknown command: ''\r\n");
  });
});
