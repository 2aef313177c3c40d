/**
 * Builders for zod schemas that reject bad input the way QEMU 7.2's QObject input visitor does, and
 * `describeArgumentError`, which turns the first zod issue into QEMU's wording
 * ("Parameter 'uri' is missing", "Invalid parameter type for 'blk', expected: boolean", ...).
 *
 * Each builder attaches an error function whose message is a small JSON token; the formatter combines the
 * token with the issue's path into QEMU's full member name (`capabilities[0].state`).
 */
import { z } from 'zod';

type Token =
  | { k: 'type'; expected: string } // Invalid parameter type for 'X', expected: T
  | { k: 'expects'; what: string } // Parameter 'X' expects T
  | { k: 'enum' } // Parameter 'X' does not accept value 'V' (or wrong type: expected: string)
  | { k: 'object' }; // object / unexpected members

interface IssueLike {
  code?: string;
  input?: unknown;
  keys?: string[];
}

const MISSING = '{"k":"missing"}';

function isMissing(iss: IssueLike): boolean {
  return iss.code === 'invalid_type' && iss.input === undefined;
}

function tokenError(token: Token) {
  return (iss: IssueLike): string => {
    if (isMissing(iss)) return MISSING;
    if (token.k === 'enum') {
      if (iss.input === undefined) return MISSING; // a required enum member left out (zod reports invalid_value)
      return typeof iss.input === 'string'
        ? JSON.stringify({ k: 'badenum', value: iss.input })
        : JSON.stringify({ k: 'type', expected: 'string' });
    }
    if (token.k === 'object') {
      if (iss.code === 'unrecognized_keys') return JSON.stringify({ k: 'unexpected', key: iss.keys?.[0] ?? '' });
      return JSON.stringify({ k: 'type', expected: 'object' });
    }
    return JSON.stringify(token);
  };
}

const INT64_MIN = -(2 ** 63);
const INT64_LIMIT = 2 ** 63; // exclusive
const UINT64_LIMIT = 2 ** 64; // exclusive

/** QAPI `int` (int64): a JSON integer. 1.5, "1", true → "Invalid parameter type for 'X', expected: integer". */
export function qInt() {
  const err = tokenError({ k: 'type', expected: 'integer' });
  return z
    .number({ error: err })
    .refine((v) => Number.isInteger(v) && v >= INT64_MIN && v < INT64_LIMIT, { error: err });
}

/**
 * QAPI `uint64` / `size`: a JSON integer; like QEMU, a negative integer is accepted here (QEMU wraps it), the
 * daemon/core does range checks. Not an integer → "Parameter 'X' expects uint64".
 */
export function qUint64() {
  const err = tokenError({ k: 'expects', what: 'uint64' });
  return z
    .number({ error: err })
    .refine((v) => Number.isInteger(v) && v >= INT64_MIN && v < UINT64_LIMIT, { error: err });
}

function qUintN(bits: 8 | 16 | 32) {
  const err64 = tokenError({ k: 'expects', what: 'uint64' });
  const errN = tokenError({ k: 'expects', what: `uint${bits}_t` });
  const max = 2 ** bits;
  return z
    .number({ error: err64 })
    .refine((v) => Number.isInteger(v) && v >= INT64_MIN && v < UINT64_LIMIT, { error: err64, abort: true })
    .refine((v) => v >= 0 && v < max, { error: errN });
}

/** QAPI `uint8`: an integer 0..255, else "Parameter 'X' expects uint8_t" (QEMU's visitor range check). */
export const qUint8 = () => qUintN(8);
/** QAPI `uint32`: an integer 0..2^32-1, else "Parameter 'X' expects uint32_t". */
export const qUint32 = () => qUintN(32);

/** QAPI `number`: any JSON number. */
export function qNumber() {
  return z.number({ error: tokenError({ k: 'type', expected: 'number' }) });
}

/** QAPI `bool`. */
export function qBool() {
  return z.boolean({ error: tokenError({ k: 'type', expected: 'boolean' }) });
}

/** QAPI `str`. */
export function qStr() {
  return z.string({ error: tokenError({ k: 'type', expected: 'string' }) });
}

/** QAPI `StrOrNull` alternate: a string or JSON null. */
export function qStrOrNull() {
  return z.string({ error: tokenError({ k: 'type', expected: 'StrOrNull' }) }).nullable();
}

/** A QAPI enum: wrong type → "expected: string"; unknown value → "Parameter 'X' does not accept value 'V'". */
export function qEnum<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: tokenError({ k: 'enum' }) });
}

/** A QAPI list. */
export function qArray<T extends z.ZodType>(element: T) {
  return z.array(element, { error: tokenError({ k: 'type', expected: 'array' }) });
}

/** A QAPI struct: members in QEMU's visiting order; unknown members → "Parameter 'X' is unexpected". */
export function qStruct<T extends z.core.$ZodLooseShape>(shape: T) {
  return z.strictObject(shape, { error: tokenError({ k: 'object' }) });
}

function memberName(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out;
}

/**
 * QEMU's GenericError text for the first problem zod found in a command's arguments. Issues that did not come
 * from the builders above (a schema built by hand) fall back to zod's own message, prefixed with the member.
 */
export function describeArgumentError(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'Invalid arguments';
  const path = issue.path;
  let token: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(issue.message);
    if (parsed !== null && typeof parsed === 'object' && 'k' in parsed) token = parsed as Record<string, unknown>;
  } catch {
    token = undefined;
  }
  const name = memberName(path);
  switch (token?.['k']) {
    case 'missing':
      return `Parameter '${name}' is missing`;
    case 'type':
      return `Invalid parameter type for '${name}', expected: ${String(token['expected'])}`;
    case 'expects':
      return `Parameter '${name}' expects ${String(token['what'])}`;
    case 'badenum': {
      // QEMU names a bad enum value by the member's own name, not its full path ('null' inside a list).
      const last = path[path.length - 1];
      const short = typeof last === 'string' ? last : 'null';
      return `Parameter '${short}' does not accept value '${String(token['value'])}'`;
    }
    case 'unexpected': {
      const key = String(token['key']);
      return `Parameter '${name === '' ? key : `${name}.${key}`}' is unexpected`;
    }
    default:
      return name === '' ? issue.message : `Parameter '${name}': ${issue.message}`;
  }
}
