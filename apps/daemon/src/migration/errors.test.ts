import { Worker } from 'node:worker_threads';
import { encodeError, MigrationFailedError, type WireError } from '@mig/core';
import { StreamError } from '@mig/savevm';
import { TransportError, UriError } from '@mig/transports';
import { describe, expect, it } from 'vitest';
import { decodeMigrationError, errorLogFields } from './errors.js';

/** Runs the fixture worker (it needs the packages built, as `pnpm test` does first). */
function errorsFromWorker(): Promise<WireError[]> {
  const worker = new Worker(new URL('../../test/fixtures/throwing-worker.mjs', import.meta.url));
  return new Promise((resolve, reject) => {
    worker.once('message', (m: WireError[]) => {
      void worker.terminate();
      resolve(m);
    });
    worker.once('error', reject);
  });
}

describe('migration errors across the worker boundary', () => {
  it('a StreamError, a MigrationFailedError and a UriError thrown in a real worker arrive as their classes', async () => {
    const [stream, failed, uri] = (await errorsFromWorker()).map(decodeMigrationError);

    expect(stream).toBeInstanceOf(StreamError);
    const s = stream as StreamError;
    expect([s.offset, s.record]).toEqual([4104, 'ram PAGE']);
    expect(s.message).toBe('ram PAGE record at byte 4104: stream ended after 4104 bytes, before the EOF marker');
    const t = s.cause as TransportError;
    expect(t).toBeInstanceOf(TransportError);
    expect([t.endpoint, t.bytes, t.code]).toEqual(['tcp:127.0.0.1:4444', 8192, 'ECONNRESET']);
    expect((t.cause as Error & { code: string }).code).toBe('ECONNRESET');

    expect(failed).toBeInstanceOf(MigrationFailedError);
    expect((failed as MigrationFailedError).phase).toBe('write');
    expect(failed!.cause).toBeInstanceOf(TransportError);

    expect(uri).toBeInstanceOf(UriError);
    expect((uri as UriError).uri).toBe('bogus:1');
    expect(uri!.message).toBe("unknown migration URI scheme 'bogus' in 'bogus:1' (expected tcp:, unix:, exec:, fd: or rdma:)");
  });

  it('logs the class and the fields along the cause chain', () => {
    const transport = new TransportError('broken pipe (EPIPE)', { endpoint: 'unix:mig.sock', bytes: 65536, code: 'EPIPE' });
    const failed = decodeMigrationError(encodeError(new MigrationFailedError('write', 'migration stream write failed: broken pipe', { cause: transport })));
    expect(errorLogFields(failed)).toEqual({
      error: 'MigrationFailedError', phase: 'write', endpoint: 'unix:mig.sock', bytes: 65536, code: 'EPIPE',
      causes: 'TransportError: broken pipe (EPIPE)',
    });
    const stream = new StreamError(17, 'section', 'stream ended after 17 bytes, before the EOF marker');
    expect(errorLogFields(stream)).toEqual({ error: 'StreamError', record: 'section', offset: 17 });
    expect(errorLogFields(undefined)).toEqual({});
    expect(errorLogFields('text')).toEqual({ error: 'text' });
  });
});
