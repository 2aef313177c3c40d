import { describe, expect, it, vi } from 'vitest';

describe('XBZRLE without WebAssembly SIMD', () => {
  it('xbzrleEncode/xbzrleDecode and the page cache fall back to the TypeScript code and ordinary buffers', async () => {
    vi.resetModules();
    vi.doMock('./wasm.js', async (importOriginal) => {
      const real = await importOriginal<typeof import('./wasm.js')>();
      return {
        ...real,
        wasmSupported: false,
        encodeWasm: () => { throw new Error('wasm encoder used'); },
        decodeWasm: () => { throw new Error('wasm decoder used'); },
        XbzrleWasm: class { constructor() { throw new Error('kernel memory made'); } },
      };
    });
    const { xbzrleEncode } = await import('./encode.js');
    const { xbzrleDecode } = await import('./decode.js');
    const { XbzrlePageCache, XbzrlePageEncoder } = await import('./cache.js');
    const { isKernelMemory } = await import('./wasm.js');
    const P = 4096;
    const old = new Uint8Array(P).fill(1);
    const neu = old.slice();
    for (let k = 0; k < P; k += 4) neu[k] = 2; // a long encoding: the decoder's wasm size threshold is passed
    const out = new Uint8Array(2 * P);
    const n = xbzrleEncode(old, 0, neu, 0, P, out, 0, 2 * P);
    expect(n).toBeGreaterThan(1000);
    const page = old.slice();
    expect(xbzrleDecode(out, 0, n, page, 0, P)).toBe(P - 3); // the last change is byte 4092
    expect(Buffer.from(page).equals(neu)).toBe(true);
    const cache = new XbzrlePageCache(4 * P);
    expect(isKernelMemory(cache.arena.buffer)).toBe(false);
    const enc = new XbzrlePageEncoder(cache);
    expect(enc.encodePage(0, old, 0, 1, out, 0)).toBe(-1);
    expect(enc.encodePage(0, neu, 0, 2, out, 0)).toBe(n);
    vi.doUnmock('./wasm.js');
    vi.resetModules();
  });
});
