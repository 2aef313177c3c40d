import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { MigrationFailedError, MigError, NotifierError, ParameterError } from './errors.js';
import { decodeError, encodeError, isWireError, type WireError } from './wire-error.js';

// Shaped as @mig/ram's StreamError and @mig/transports' TransportError (core may not import them): a
// class-field `name`, readonly fields, a message built from them, a cause.
class RecordError extends Error {
  override readonly name = 'RecordError';
  readonly offset: number;
  readonly record: string;
  constructor(offset: number, record: string, message: string, options?: { cause?: unknown }) {
    super(`${record} record at byte ${offset}: ${message}`, options);
    this.offset = offset;
    this.record = record;
  }
}

class LinkError extends Error {
  override readonly name = 'LinkError';
  readonly endpoint: string;
  readonly code: string | undefined;
  constructor(message: string, options: { endpoint: string; code?: string; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.endpoint = options.endpoint;
    this.code = options.code;
  }
}

const CLASSES = [RecordError, LinkError, MigrationFailedError, NotifierError, ParameterError];

function viaPort(wire: WireError): Promise<WireError> {
  const { port1, port2 } = new MessageChannel();
  return new Promise<WireError>((resolve) => {
    port2.once('message', (m: WireError) => {
      port1.close();
      resolve(m);
    });
    port1.postMessage(wire);
  });
}

function nodeError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code, errno: -104, syscall: 'read' });
}

describe('encodeError / decodeError', () => {
  it('a StreamError-like error survives structuredClone: class, offset, record, message, stack, cause chain', () => {
    const root = nodeError('read ECONNRESET', 'ECONNRESET');
    const link = new LinkError('connection reset by peer', { endpoint: 'tcp:127.0.0.1:4444', code: 'ECONNRESET', cause: root });
    const original = new RecordError(4096, 'ram PAGE', 'the stream ended', { cause: link });
    const back = decodeError(structuredClone(encodeError(original)), CLASSES) as RecordError;

    expect(back).toBeInstanceOf(RecordError);
    expect(back).toBeInstanceOf(Error);
    expect(back.name).toBe('RecordError');
    expect(back.message).toBe('ram PAGE record at byte 4096: the stream ended');
    expect(back.offset).toBe(4096);
    expect(back.record).toBe('ram PAGE');
    expect(back.stack).toBe(original.stack);
    expect(String(back)).toBe(String(original));
    expect(Object.keys(back)).toEqual(Object.keys(original));

    const cause = back.cause as LinkError;
    expect(cause).toBeInstanceOf(LinkError);
    expect(cause.endpoint).toBe('tcp:127.0.0.1:4444');
    expect(cause.code).toBe('ECONNRESET');
    const rootBack = cause.cause as Error & { code: string; errno: number; syscall: string };
    expect(rootBack.constructor).toBe(Error);
    expect(rootBack.message).toBe('read ECONNRESET');
    expect([rootBack.code, rootBack.errno, rootBack.syscall]).toEqual(['ECONNRESET', -104, 'read']);
    expect('cause' in rootBack).toBe(false);
  });

  it('a MigrationFailedError crosses a real MessageChannel with its phase and errorClass', async () => {
    const original = new MigrationFailedError('write', 'migration stream write failed: broken pipe', {
      cause: new LinkError('broken pipe (EPIPE)', { endpoint: 'unix:/run/mig.sock', code: 'EPIPE' }),
    });
    const wire = await viaPort(encodeError(original));
    expect(isWireError(wire)).toBe(true);
    const back = decodeError(wire, CLASSES) as MigrationFailedError;
    expect(back).toBeInstanceOf(MigrationFailedError);
    expect(back).toBeInstanceOf(MigError);
    expect(back.phase).toBe('write');
    expect(back.errorClass).toBe('GenericError');
    expect(back.name).toBe('MigrationFailedError');
    expect(back.message).toBe('migration stream write failed: broken pipe');
    expect((back.cause as LinkError).code).toBe('EPIPE');
    expect((back.cause as LinkError)).toBeInstanceOf(LinkError);
  });

  it('without the codec the class and the fields are lost (why the codec exists)', () => {
    const cloned = structuredClone(new RecordError(12, 'header', 'bad magic')) as unknown as Record<string, unknown>;
    expect(cloned).not.toBeInstanceOf(RecordError);
    expect(cloned['offset']).toBeUndefined();
  });

  it('an unregistered name gives a plain Error that keeps the name and the fields', () => {
    const back = decodeError(encodeError(new RecordError(7, 'EOF', 'missing')), []);
    expect(back.constructor).toBe(Error);
    expect(back).not.toBeInstanceOf(RecordError);
    expect(back.name).toBe('RecordError');
    expect((back as unknown as { offset: number }).offset).toBe(7);
    expect(String(back)).toBe('RecordError: EOF record at byte 7: missing');
  });

  it('built-in classes are known without registering them, and keep their inherited name', () => {
    const back = decodeError(structuredClone(encodeError(new RangeError('out of range'))));
    expect(back).toBeInstanceOf(RangeError);
    expect(back.name).toBe('RangeError');
    expect(Object.prototype.hasOwnProperty.call(back, 'name')).toBe(false);
  });

  it('errors inside fields (NotifierError.errors) come back as their classes', () => {
    const original = new NotifierError([new ParameterError('downtime_limit', 'bad'), 'a string thrown']);
    const back = decodeError(structuredClone(encodeError(original)), CLASSES) as NotifierError;
    expect(back).toBeInstanceOf(NotifierError);
    expect(back.errors[0]).toBeInstanceOf(ParameterError);
    expect((back.errors[0] as ParameterError).parameter).toBe('downtime_limit');
    expect(back.errors[1]).toBe('a string thrown');
    expect(back.cause).toBeInstanceOf(ParameterError);
  });

  it('thrown non-Errors and non-Error causes', () => {
    expect(decodeError(encodeError('plain text')).message).toBe('plain text');
    expect(decodeError(encodeError(undefined)).message).toBe('undefined');
    const obj = decodeError(encodeError({ name: 'Weird', message: 'thrown object', extra: 3 }));
    expect([obj.name, obj.message, (obj as unknown as { extra: number }).extra]).toEqual(['Weird', 'thrown object', 3]);
    expect(decodeError(encodeError({ a: 1 })).message).toBe('{"a":1}');
    const withValueCause = decodeError(structuredClone(encodeError(new Error('outer', { cause: { code: 5 } }))));
    expect(withValueCause.cause).toEqual({ code: 5 });
  });

  it('drops what cannot be cloned and summarises buffers', () => {
    const err = Object.assign(new Error('x'), {
      fn: () => 1, sym: Symbol('s'), bytes: new Uint8Array(4096), when: new Date(0), big: 10n, nested: { list: [1, 'two', null] },
    });
    const wire = encodeError(err);
    expect(() => structuredClone(wire)).not.toThrow();
    const back = decodeError(structuredClone(wire)) as unknown as Record<string, unknown>;
    expect('fn' in back).toBe(false);
    expect('sym' in back).toBe(false);
    expect(back['bytes']).toBe('Uint8Array(4096 bytes)');
    expect(back['when']).toBe('1970-01-01T00:00:00.000Z');
    expect(back['big']).toBe(10n);
    expect(back['nested']).toEqual({ list: [1, 'two', null] });
  });

  it('bounds the cause chain: a cycle or a deep chain is cut and marked truncated', () => {
    const cyclic = new Error('loop');
    (cyclic as { cause?: unknown }).cause = cyclic;
    const wire = encodeError(cyclic, { maxDepth: 4 });
    expect(() => structuredClone(wire)).not.toThrow();
    let depth = 0;
    for (let w: WireError | undefined = wire; w; w = isWireError(w.cause) ? w.cause : undefined) depth++;
    expect(depth).toBe(4);
    expect(wire.truncated).toBe(true);

    let deep: Error = new Error('level 0');
    for (let i = 1; i < 20; i++) deep = new Error(`level ${i}`, { cause: deep });
    let back: unknown = decodeError(encodeError(deep));
    let levels = 0;
    while (back instanceof Error) {
      levels++;
      back = back.cause;
    }
    expect(levels).toBe(8);
    expect(encodeError(new Error('shallow', { cause: new Error('c') })).truncated).toBeUndefined();
  });

  it('answers a malformed record with an Error that says so', () => {
    const back = decodeError({ nope: true } as unknown as WireError);
    expect(back.message).toMatch(/^malformed error from another thread: \{"nope":true\}/);
  });
});
