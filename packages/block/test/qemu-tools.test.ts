import { describe, expect, it, vi } from 'vitest';
import { QEMU_UTILS_SKIP_MESSAGE, QemuUtilsMissingError, findTool, requireQemuUtils } from './qemu-tools.js';

describe('requireQemuUtils', () => {
  it('skips with the apt-get hint locally when qemu-img is missing', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    expect(requireQemuUtils({ PATH: '/nonexistent-dir' })).toBe(false);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('apt-get install qemu-utils'));
    warn.mockRestore();
  });

  it('throws in CI instead of skipping', () => {
    expect(() => requireQemuUtils({ PATH: '/nonexistent-dir', CI: '1' })).toThrow(QemuUtilsMissingError);
    expect(() => requireQemuUtils({ PATH: '', CI: 'true' })).toThrow(QEMU_UTILS_SKIP_MESSAGE);
  });

  it('finds the tools when installed', () => {
    if (findTool('qemu-img') === undefined) return; // nothing to find on this machine
    expect(requireQemuUtils({ PATH: process.env.PATH, CI: 'true' })).toBe(true);
  });
});
