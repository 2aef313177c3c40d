import { describe, expect, it, vi } from 'vitest';
import { QEMU_SKIP_MESSAGE, QemuMissingError, findQemu, requireQemu } from './qemu.js';

describe('requireQemu', () => {
  it('reports QEMU missing locally (no CI) without throwing', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    expect(requireQemu({ PATH: '/nonexistent-dir' })).toBe(false);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining(QEMU_SKIP_MESSAGE));
    warn.mockRestore();
  });

  it('throws in CI when QEMU is missing', () => {
    expect(() => requireQemu({ PATH: '/nonexistent-dir', CI: 'true' })).toThrow(QemuMissingError);
    expect(() => requireQemu({ PATH: '/nonexistent-dir', CI: 'true' })).toThrow(/apt-get install qemu-system-x86/);
  });

  it('CI=false counts as not CI', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    expect(requireQemu({ PATH: '', CI: 'false' })).toBe(false);
    warn.mockRestore();
  });

  it('finds qemu on PATH when it is installed', () => {
    const found = findQemu();
    if (found === undefined) return; // nothing to find on this machine
    expect(found).toMatch(/qemu-system-x86_64$/);
    expect(requireQemu({ PATH: process.env.PATH, CI: 'true' })).toBe(true);
  });
});
