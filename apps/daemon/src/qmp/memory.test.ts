import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { memoryHandlers, type GuestMemoryAccess } from './memory.js';
import { call, qmpErrorOf } from '../../test/qmp-call.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

function memory(): GuestMemoryAccess & { written: Array<[number, Uint8Array]> } {
  const written: Array<[number, Uint8Array]> = [];
  return {
    written,
    readPhysical: (address, size) => {
      if (address + size > 8192) throw new Error(`guest-physical address 0x${(8192).toString(16)} is not backed by guest RAM`);
      return [new Uint8Array(size / 2).fill(1), new Uint8Array(size / 2).fill(2)];
    },
    writePhysical: (address, bytes) => {
      if (address + bytes.length > 8192) throw new Error('guest-physical address 0x2000 is not backed by guest RAM');
      written.push([address, bytes]);
    },
  };
}

describe('memory handlers', () => {
  it('pmemsave writes the parts of the range to the file, in order', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mig-pmemsave-'));
    dirs.push(dir);
    const file = join(dir, 'ram.bin');
    await call(memoryHandlers(memory()).pmemsave, { val: 0, size: 8, filename: file });
    expect([...(await readFile(file))]).toEqual([1, 1, 1, 1, 2, 2, 2, 2]);
  });

  it('pmemsave names a hole and a file it cannot open', async () => {
    const h = memoryHandlers(memory());
    expect(await qmpErrorOf(() => call(h.pmemsave, { val: 8190, size: 4, filename: 'x' }))).toBe('GenericError: pmemsave: guest-physical address 0x2000 is not backed by guest RAM');
    const missing = join(tmpdir(), 'mig-no-such-dir', 'sub', 'ram.bin');
    expect(await qmpErrorOf(() => call(h.pmemsave, { val: 0, size: 4, filename: missing }))).toMatch(/^GenericError: Could not open '.*ram\.bin': ENOENT/);
  });

  it('x-mig-write decodes base64 (default) or hex and writes', () => {
    const m = memory();
    const h = memoryHandlers(m);
    call(h['x-mig-write'], { address: 16, data: 'AQID' });
    call(h['x-mig-write'], { address: 32, data: 'ff00', encoding: 'hex' });
    expect(m.written.map(([a, b]) => [a, [...b]])).toEqual([[16, [1, 2, 3]], [32, [255, 0]]]);
  });

  it('x-mig-write names bad data and a hole', async () => {
    const write = vi.fn();
    const h = memoryHandlers({ readPhysical: () => [], writePhysical: write });
    expect(await qmpErrorOf(() => call(h['x-mig-write'], { address: 0, data: '' }))).toBe("GenericError: x-mig-write: 'data' is empty");
    expect(await qmpErrorOf(() => call(h['x-mig-write'], { address: 0, data: 'abc', encoding: 'hex' }))).toBe("GenericError: x-mig-write: 'data' is not hex (an even number of 0-9a-f digits)");
    expect(await qmpErrorOf(() => call(h['x-mig-write'], { address: 0, data: 'AQI' }))).toBe("GenericError: x-mig-write: 'data' is not base64 (or give encoding 'hex')");
    expect(write).not.toHaveBeenCalled();
    const holes = memoryHandlers(memory());
    expect(await qmpErrorOf(() => call(holes['x-mig-write'], { address: 8190, data: 'AQID' }))).toBe('GenericError: x-mig-write: guest-physical address 0x2000 is not backed by guest RAM');
  });
});
