import { Writable } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { TransportError } from './errors.js';
import { WritableSink } from './sink.js';

/** A writable that holds every chunk until the test lets it go: the test decides when bytes "reach the OS". */
class HeldWritable extends Writable {
  readonly held: { chunk: Buffer; done: (err?: Error | null) => void }[] = [];
  constructor(highWaterMark: number) {
    super({ highWaterMark });
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    this.held.push({ chunk, done });
  }
  release(): void {
    this.held.shift()?.done();
  }
}

function settled(promise: Promise<unknown>): { value: 'pending' | 'resolved' | 'rejected'; error?: unknown } {
  const state: { value: 'pending' | 'resolved' | 'rejected'; error?: unknown } = { value: 'pending' };
  promise.then(
    () => (state.value = 'resolved'),
    (err: unknown) => {
      state.value = 'rejected';
      state.error = err;
    },
  );
  return state;
}

function errno(code: string): Error {
  return Object.assign(new Error(`write ${code}`), { code });
}

describe('WritableSink', () => {
  it('resolves writes at once below the high-water mark and on drain above it', async () => {
    const stream = new HeldWritable(16);
    const sink = new WritableSink(stream, { endpoint: 'test:held', highWaterMark: 100 });
    expect(sink.highWaterMark).toBe(100);
    const first = settled(sink.write(new Uint8Array(40)));
    const second = settled(sink.write(new Uint8Array(40)));
    await tick();
    expect(first.value).toBe('resolved');
    expect(second.value).toBe('resolved');
    expect(sink.bufferedBytes).toBe(80);
    const third = settled(sink.write(new Uint8Array(40))); // 120 buffered: at or above the mark
    const fourth = settled(sink.write(new Uint8Array(1))); // a concurrent writer shares the wait
    await tick();
    expect(third.value).toBe('pending');
    expect(fourth.value).toBe('pending');
    for (let i = 0; i < 3; i++) {
      stream.release();
      await tick();
    }
    expect(third.value).toBe('pending'); // 'drain' comes only once the buffer is empty
    stream.release();
    await tick();
    expect(third.value).toBe('resolved');
    expect(fourth.value).toBe('resolved');
    expect(sink.bytesWritten).toBe(121);
    expect(sink.bytesFlushed).toBe(121);
  });

  it('never uses a mark below the writable’s own', () => {
    const sink = new WritableSink(new HeldWritable(1000), { endpoint: 'test:held', highWaterMark: 10 });
    expect(sink.highWaterMark).toBe(1000);
  });

  it('hands the caller’s chunk to the writable without copying it', async () => {
    const stream = new HeldWritable(16);
    const sink = new WritableSink(stream, { endpoint: 'test:held' });
    const chunk = new Uint8Array(new ArrayBuffer(64), 8, 32);
    await sink.write(chunk);
    const seen = stream.held[0]?.chunk;
    expect(seen?.buffer).toBe(chunk.buffer);
    expect(seen?.byteOffset).toBe(8);
    expect(seen?.byteLength).toBe(32);
  });

  it('rejects a waiting write and every later call when the peer breaks the pipe, naming the bytes flushed', async () => {
    const stream = new HeldWritable(16);
    const sink = new WritableSink(stream, { endpoint: 'tcp:127.0.0.1:9', highWaterMark: 16 });
    await sink.write(new Uint8Array(10)).catch(() => undefined);
    const waiting = settled(sink.write(new Uint8Array(10)));
    stream.release(); // 10 bytes reached the OS
    await tick();
    stream.destroy(errno('EPIPE'));
    await tick();
    await tick();
    expect(waiting.value).toBe('rejected');
    const err = waiting.error as TransportError;
    expect(err).toBeInstanceOf(TransportError);
    expect(err.message).toBe('peer closed the migration stream (EPIPE) after 10 bytes [tcp:127.0.0.1:9]');
    expect(err.code).toBe('EPIPE');
    expect(err.bytes).toBe(10);
    await expect(sink.write(new Uint8Array(1))).rejects.toBe(err);
    await expect(sink.end()).rejects.toBe(err);
  });

  it('reports any other stream error with its cause', async () => {
    const stream = new HeldWritable(16);
    const sink = new WritableSink(stream, { endpoint: 'unix:/x' });
    stream.destroy(new Error('disk on fire'));
    await expect(sink.write(new Uint8Array(1))).rejects.toThrow(
      'writing the migration stream to unix:/x failed after 0 bytes: disk on fire',
    );
  });

  it('treats a close without error before end() as a failure', async () => {
    const stream = new HeldWritable(16);
    const sink = new WritableSink(stream, { endpoint: 'test:held' });
    stream.destroy();
    await tick();
    await expect(sink.write(new Uint8Array(1))).rejects.toThrow('migration stream test:held closed after 0 bytes');
  });

  it('end() resolves only after every byte is flushed and the after-finish check passed', async () => {
    const stream = new HeldWritable(16);
    let released = 0;
    let allowFinish: (() => void) | undefined;
    const sink = new WritableSink(stream, {
      endpoint: 'test:held',
      afterFinish: () => new Promise<void>((resolve) => (allowFinish = resolve)),
      release: () => released++,
    });
    await sink.write(new Uint8Array(8));
    const ended = settled(sink.end());
    expect(sink.end()).toBe(sink.end()); // one end for all callers
    await tick();
    expect(ended.value).toBe('pending');
    stream.release();
    await tick();
    expect(ended.value).toBe('pending'); // flushed, but the after-finish check has not answered
    allowFinish?.();
    await tick();
    expect(ended.value).toBe('resolved');
    expect(released).toBe(1);
    await expect(sink.write(new Uint8Array(1))).rejects.toThrow('write to migration stream test:held after end()');
  });

  it('end() rejects with the after-finish error', async () => {
    const stream = new HeldWritable(16);
    const sink = new WritableSink(stream, {
      endpoint: 'exec:false',
      afterFinish: () => Promise.reject(new TransportError("migration command 'false' exited with status 1", { endpoint: 'exec:false' })),
    });
    await expect(sink.end()).rejects.toThrow("migration command 'false' exited with status 1");
  });

  it('destroy(err) rejects a waiting write with that error and releases once', async () => {
    const stream = new HeldWritable(16);
    let released = 0;
    const sink = new WritableSink(stream, { endpoint: 'test:held', highWaterMark: 16, release: () => released++ });
    const waiting = sink.write(new Uint8Array(32));
    const reason = new Error('cancelled by the user');
    sink.destroy(reason);
    sink.destroy(new Error('second'));
    await expect(waiting).rejects.toBe(reason);
    await expect(sink.write(new Uint8Array(1))).rejects.toBe(reason);
    expect(stream.destroyed).toBe(true);
    expect(released).toBe(1);
  });

  it('destroy() without a reason names the stream and the bytes flushed', async () => {
    const sink = new WritableSink(new HeldWritable(16), { endpoint: 'test:held' });
    sink.destroy();
    await expect(sink.end()).rejects.toThrow('migration stream test:held was destroyed after 0 bytes');
  });

  it('uses the explanation of a failure when one is given', async () => {
    const stream = new HeldWritable(16);
    const sink = new WritableSink(stream, {
      endpoint: 'exec:x',
      explainFailure: async (err, flushed) => new Error(`explained ${err.message} at ${flushed}`),
    });
    stream.destroy(errno('EPIPE'));
    await expect(sink.write(new Uint8Array(1))).rejects.toThrow('explained write EPIPE at 0');
  });
});
