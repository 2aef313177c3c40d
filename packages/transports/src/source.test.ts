import { PassThrough, Readable } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { TransportError } from './errors.js';
import { ReadableSource } from './source.js';

async function collect(source: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of source) chunks.push(chunk);
  return chunks;
}

describe('ReadableSource', () => {
  it('yields the very chunks the readable emitted, in order', async () => {
    const stream = new PassThrough();
    const source = new ReadableSource(stream, { endpoint: 'test:pass' });
    const sent = [Buffer.from('abc'), Buffer.from('defg'), Buffer.alloc(5000, 1)];
    const reading = collect(source);
    for (const chunk of sent) stream.write(chunk);
    stream.end();
    const got = await reading;
    expect(Buffer.concat(got)).toEqual(Buffer.concat(sent));
    expect(got.every((chunk, i) => chunk.buffer === sent[i]?.buffer)).toBe(true); // not copied
    expect(source.bytesRead).toBe(5007);
  });

  it('pauses the readable once a high-water mark of bytes waits unread', async () => {
    let produced = 0;
    const stream = new Readable({
      highWaterMark: 1024,
      read() {
        produced += 1024;
        this.push(Buffer.alloc(1024));
      },
    });
    const source = new ReadableSource(stream, { endpoint: 'test:endless', highWaterMark: 8192 });
    for (let i = 0; i < 50; i++) await tick();
    // The mark, plus what the readable itself buffers, plus the chunk in flight.
    expect(produced).toBeGreaterThanOrEqual(8192);
    expect(produced).toBeLessThanOrEqual(8192 + 2 * 1024);
    const before = produced;
    let read = 0;
    for await (const chunk of source) {
      read += chunk.byteLength;
      if (read >= 64 * 1024) break;
    }
    expect(produced).toBeGreaterThan(before); // it resumed
    expect(stream.destroyed).toBe(true); // breaking out stops the stream
  });

  it('rejects the iteration with a clear error when the peer resets the stream', async () => {
    const stream = new PassThrough();
    const source = new ReadableSource(stream, { endpoint: 'tcp:127.0.0.1:1' });
    const reading = collect(source);
    stream.write(Buffer.alloc(100));
    await tick();
    stream.destroy(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    const err = (await reading.catch((e: unknown) => e)) as TransportError;
    expect(err).toBeInstanceOf(TransportError);
    expect(err.message).toBe('peer reset the migration stream (ECONNRESET) after 100 bytes [tcp:127.0.0.1:1]');
    expect(err.code).toBe('ECONNRESET');
  });

  it('treats a close without end as a failure', async () => {
    const stream = new PassThrough();
    const source = new ReadableSource(stream, { endpoint: 'test:pass' });
    const reading = collect(source);
    stream.write(Buffer.alloc(10));
    await tick();
    stream.destroy();
    await expect(reading).rejects.toThrow('migration stream test:pass closed before its end after 10 bytes');
  });

  it('destroy(err) rejects a waiting iteration with err and releases the stream', async () => {
    const stream = new PassThrough();
    let released = 0;
    const source = new ReadableSource(stream, { endpoint: 'test:pass', release: () => released++ });
    const reading = collect(source);
    await tick();
    const reason = new Error('migration cancelled');
    source.destroy(reason);
    await expect(reading).rejects.toBe(reason);
    expect(stream.destroyed).toBe(true);
    expect(released).toBe(1);
  });

  it('destroy() before reading makes the iteration reject with a message naming the stream', async () => {
    const source = new ReadableSource(new PassThrough(), { endpoint: 'test:pass' });
    source.destroy();
    await expect(collect(source)).rejects.toThrow('migration stream test:pass was destroyed after 0 bytes');
  });

  it('runs the end check after the readable ended and rejects with its error', async () => {
    const stream = new PassThrough();
    const source = new ReadableSource(stream, {
      endpoint: 'exec:false',
      afterEnd: () => Promise.reject(new Error("migration command 'false' exited with status 1")),
    });
    stream.end(Buffer.from('x'));
    await expect(collect(source)).rejects.toThrow("migration command 'false' exited with status 1");
  });

  it('can be iterated only once', async () => {
    const stream = new PassThrough();
    const source = new ReadableSource(stream, { endpoint: 'test:pass' });
    stream.end();
    await collect(source);
    await expect(collect(source)).rejects.toThrow('migration stream test:pass is already being read');
  });
});
