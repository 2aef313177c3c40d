/**
 * Errors across a thread boundary. structuredClone (and so postMessage) keeps an Error's message but drops
 * its class and its own fields, so a StreamError thrown in a worker would arrive as a bare Error without its
 * offset. `encodeError` turns any thrown value into a plain, cloneable WireError (name, message, stack, own
 * enumerable fields, cause chain); `decodeError` rebuilds an instance of the class registered under that
 * name, without calling its constructor (whose arguments are not known), so `instanceof` and the fields hold.
 */

/** A value that structuredClone copies as is. Errors inside (a cause, an `errors` list) are WireErrors. */
export type WireValue =
  | null
  | undefined
  | boolean
  | number
  | bigint
  | string
  | WireError
  | WireValue[]
  | { [key: string]: WireValue };

export interface WireError {
  /** Marks an encoded error among plain values (a cause or a field may be one). */
  $wire: 'error';
  name: string;
  message: string;
  stack?: string;
  /** The error's own enumerable properties (its class fields: offset, record, phase, ...), made plain. */
  fields: Record<string, WireValue>;
  /** The error's `cause`, when it has one: a WireError for an Error, a plain value otherwise. */
  cause?: WireValue;
  /** Set when a cause or a value was cut off at the depth bound (or an array at its length bound). */
  truncated?: true;
}

/** A class whose instances `decodeError` may rebuild (matched by the error's `name`). */
export type ErrorClass = abstract new (...args: never[]) => Error;

export interface EncodeErrorOptions {
  /** How deep causes and values nest before they are cut (default 8). */
  maxDepth?: number;
}

const DEFAULT_MAX_DEPTH = 8;
const MAX_ARRAY_ITEMS = 1000;
/** Properties every Error has that travel in their own WireError slots, not in `fields`. */
const OWN_SLOTS = new Set(['message', 'stack', 'cause']);

const BUILT_IN: readonly ErrorClass[] = [
  Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError, AggregateError,
];

export function isWireError(value: unknown): value is WireError {
  return (
    typeof value === 'object' && value !== null && (value as { $wire?: unknown }).$wire === 'error' &&
    typeof (value as { name?: unknown }).name === 'string' && typeof (value as { message?: unknown }).message === 'string'
  );
}

function isErrorLike(value: unknown): value is Error {
  return value instanceof Error || Object.prototype.toString.call(value) === '[object Error]';
}

/**
 * Any thrown value as a WireError. A thrown non-Error becomes an Error-shaped record: a string is the
 * message; an object keeps its `name`/`message` if they are strings and its own enumerable fields.
 */
export function encodeError(err: unknown, options: EncodeErrorOptions = {}): WireError {
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  return encodeAt(err, maxDepth, { cut: false });
}

interface EncodeState {
  cut: boolean;
}

function encodeAt(err: unknown, depth: number, state: EncodeState): WireError {
  const isObject = typeof err === 'object' && err !== null;
  const record = err as { name?: unknown; message?: unknown; stack?: unknown; cause?: unknown };
  const name = isObject && typeof record.name === 'string' ? record.name : 'Error';
  let message: string;
  if (!isObject) message = String(err);
  else if (typeof record.message === 'string') message = record.message;
  else message = isErrorLike(err) ? '' : safeJson(err);
  const wire: WireError = { $wire: 'error', name, message, fields: {} };
  if (!isObject) return wire;
  if (typeof record.stack === 'string') wire.stack = record.stack;
  const local: EncodeState = { cut: false };
  for (const key of Object.keys(err)) {
    if (OWN_SLOTS.has(key)) continue;
    const value = encodeValue((err as Record<string, unknown>)[key], depth - 1, local);
    if (value !== OMIT) wire.fields[key] = value;
  }
  if ('cause' in err) {
    if (depth <= 1) local.cut = true;
    else {
      const cause = isErrorLike(record.cause) ? encodeAt(record.cause, depth - 1, local) : encodeValue(record.cause, depth - 1, local);
      if (cause !== OMIT) wire.cause = cause;
    }
  }
  if (local.cut) {
    wire.truncated = true;
    state.cut = true;
  }
  return wire;
}

const OMIT = Symbol('omit');

/** A field value made cloneable; functions and symbols are left out (OMIT). */
function encodeValue(value: unknown, depth: number, state: EncodeState): WireValue | typeof OMIT {
  switch (typeof value) {
    case 'function':
    case 'symbol':
      return OMIT;
    case 'object':
      break;
    default:
      return value as WireValue;
  }
  if (value === null) return null;
  if (depth <= 0) {
    state.cut = true;
    return OMIT;
  }
  if (isErrorLike(value)) return encodeAt(value, depth, state);
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${value.byteLength} bytes)`;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) {
    if (value.length > MAX_ARRAY_ITEMS) state.cut = true;
    const out: WireValue[] = [];
    for (const item of value.slice(0, MAX_ARRAY_ITEMS)) {
      const v = encodeValue(item, depth - 1, state);
      out.push(v === OMIT ? null : v);
    }
    return out;
  }
  const out: Record<string, WireValue> = {};
  for (const key of Object.keys(value)) {
    const v = encodeValue((value as Record<string, unknown>)[key], depth - 1, state);
    if (v !== OMIT) out[key] = v;
  }
  return out;
}

/**
 * Rebuilds the error `wire` describes: an instance of the class in `classes` (or a built-in Error class)
 * whose `name` is `wire.name`, with its message, stack, fields and cause chain; an unknown name gives a
 * plain Error that keeps the name. The constructor is not run: the instance is made from the class's
 * prototype, so a class whose constructor sets up more than its own fields would miss that.
 */
export function decodeError(wire: WireError, classes: Iterable<ErrorClass> = []): Error {
  const byName = new Map<string, ErrorClass>();
  for (const cls of BUILT_IN) byName.set(cls.name, cls);
  for (const cls of classes) byName.set(cls.name, cls);
  return decodeWith(wire, byName);
}

function decodeWith(wire: WireError, byName: ReadonlyMap<string, ErrorClass>): Error {
  if (!isWireError(wire)) return new Error(`malformed error from another thread: ${safeJson(wire)}`);
  const cls = byName.get(wire.name) ?? Error;
  const err = Object.create(cls.prototype) as Error;
  const define = (key: string, value: unknown, enumerable: boolean): void => {
    Object.defineProperty(err, key, { value, enumerable, writable: true, configurable: true });
  };
  define('message', wire.message, false);
  if (wire.stack !== undefined) define('stack', wire.stack, false);
  for (const [key, value] of Object.entries(wire.fields ?? {})) define(key, decodeValue(value, byName), true);
  if (err.name !== wire.name) define('name', wire.name, true);
  if ('cause' in wire) define('cause', decodeValue(wire.cause, byName), false);
  return err;
}

function decodeValue(value: WireValue, byName: ReadonlyMap<string, ErrorClass>): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (isWireError(value)) return decodeWith(value, byName);
  if (Array.isArray(value)) return value.map((v) => decodeValue(v, byName));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) out[key] = decodeValue(v, byName);
  return out;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value)?.slice(0, 200) ?? String(value);
  } catch {
    return String(value);
  }
}
