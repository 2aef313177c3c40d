import { describe, expect, it } from 'vitest';
import { hmpHandlers } from './hmp.js';
import { call } from '../../test/qmp-call.js';

describe('human-monitor-command', () => {
  const h = hmpHandlers({ runstate: () => 'paused', queryMigrate: () => ({ status: 'active' }) });
  const hmp = (line: string) => call(h['human-monitor-command'], { 'command-line': line });

  it('answers info status and info migrate as HMP lines', () => {
    expect(hmp('info status')).toBe('VM status: paused\r\n');
    expect(hmp('  info migrate ')).toBe('{"status":"active"}\r\n');
  });

  it('names an unknown command by its first word', () => {
    expect(hmp('savevm snap1')).toBe("unknown command: 'savevm'\r\n");
    expect(hmp('')).toBe("unknown command: ''\r\n");
  });
});
