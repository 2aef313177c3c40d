// Mutations of real inputs (QEMU streams, QMP lines) as fast-check values: what to do is generated and shrunk,
// never the (megabyte) bytes themselves; positions resolve against the input when the mutation is applied.
import fc from 'fast-check';

/** A real input to mutate, with the offsets where its records start (mutations favour them). */
export interface SeedInput {
  readonly name: string;
  readonly bytes: Uint8Array;
  /** Sorted record start offsets (0 included); empty when unknown. */
  readonly boundaries: readonly number[];
}

/**
 * A place in the input: near a record start (`anchor` ≥ 0 picks one, `delta` bytes after it) or anywhere
 * (`anchor` -1, `delta` taken modulo the length).
 */
export interface Position {
  readonly anchor: number;
  readonly delta: number;
}

export type Mutation =
  | { readonly kind: 'flip'; readonly at: Position; readonly bit: number }
  | { readonly kind: 'set'; readonly at: Position; readonly bytes: Uint8Array }
  | { readonly kind: 'insert'; readonly at: Position; readonly bytes: Uint8Array }
  | { readonly kind: 'delete'; readonly at: Position; readonly len: number }
  | { readonly kind: 'truncate'; readonly at: Position }
  | { readonly kind: 'splice'; readonly at: Position; readonly donor: number; readonly from: Position; readonly len: number }
  | { readonly kind: 'record'; readonly op: 'drop' | 'duplicate' | 'move'; readonly record: number; readonly to: number };

/** Values parsers treat specially: lengths at their edges, section types, flags, huge be32/be64 words. */
const INTERESTING: readonly (readonly number[])[] = [
  [0x00], [0x01], [0x02], [0x03], [0x04], [0x06], [0x07], [0x08], [0x10], [0x20], [0x40], [0x7e], [0x7f], [0x80], [0xff],
  [0xff, 0xff, 0xff, 0xff],
  [0x7f, 0xff, 0xff, 0xff],
  [0x00, 0x10, 0x00, 0x00],
  [0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04], // 1 PiB | MEM_SIZE
  [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf0, 0x08], // a page far past any RAM
  [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10], // ram EOS
  [0x10, 0x01], // an XBZRLE length of 4097
];

const position = (): fc.Arbitrary<Position> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.record({ anchor: fc.nat(), delta: fc.integer({ min: 0, max: 24 }) }) },
    { weight: 2, arbitrary: fc.record({ anchor: fc.constant(-1), delta: fc.nat() }) },
  );

const someBytes = (): fc.Arbitrary<Uint8Array> =>
  fc.oneof(
    fc.uint8Array({ minLength: 1, maxLength: 12 }),
    fc.constantFrom(...INTERESTING).map((v) => Uint8Array.from(v)),
  );

/** One mutation of any kind; `donors` is how many seeds a splice may take bytes from. */
export function mutationArb(donors: number): fc.Arbitrary<Mutation> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: position(), bit: fc.integer({ min: 0, max: 7 }) }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('set' as const), at: position(), bytes: someBytes() }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: position(), bytes: someBytes() }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), at: position(), len: fc.integer({ min: 1, max: 64 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: position() }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('splice' as const), at: position(), donor: fc.integer({ min: 0, max: Math.max(0, donors - 1) }),
        from: position(), len: fc.integer({ min: 1, max: 8192 }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('record' as const), op: fc.constantFrom('drop' as const, 'duplicate' as const, 'move' as const),
        record: fc.nat(), to: fc.nat(),
      }),
    },
  );
}

/** Where `at` falls in an input of `len` bytes with these record starts: 0..len. */
export function resolvePosition(at: Position, len: number, boundaries: readonly number[]): number {
  if (at.anchor >= 0 && boundaries.length > 0) return Math.min(len, boundaries[at.anchor % boundaries.length]! + at.delta);
  return at.delta % (len + 1);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** The record starts still valid after a mutation: those before `cut` (later ones moved). */
const before = (boundaries: readonly number[], cut: number): number[] => boundaries.filter((b) => b < cut);

/** `input` with one mutation applied (a new array; record starts after an edit are dropped from its map). */
export function applyMutation(input: SeedInput, m: Mutation, donors: readonly SeedInput[]): SeedInput {
  const b = input.bytes;
  const len = b.length;
  const at = (p: Position): number => resolvePosition(p, len, input.boundaries);
  const edited = (bytes: Uint8Array, cut: number): SeedInput => ({ name: input.name, bytes, boundaries: before(input.boundaries, cut) });
  switch (m.kind) {
    case 'flip': {
      const i = Math.min(at(m.at), len - 1);
      if (i < 0) return input;
      const out = b.slice();
      out[i] = out[i]! ^ (1 << m.bit);
      return { ...input, bytes: out };
    }
    case 'set': {
      const i = at(m.at);
      const out = b.slice();
      out.set(m.bytes.subarray(0, Math.max(0, len - i)), i);
      return { ...input, bytes: out };
    }
    case 'insert': {
      const i = at(m.at);
      return edited(concat([b.subarray(0, i), m.bytes, b.subarray(i)]), i);
    }
    case 'delete': {
      const i = at(m.at);
      return edited(concat([b.subarray(0, i), b.subarray(i + m.len)]), i);
    }
    case 'truncate': {
      const i = at(m.at);
      return edited(b.slice(0, i), i);
    }
    case 'splice': {
      const donor = donors[m.donor % Math.max(1, donors.length)] ?? input;
      const from = resolvePosition(m.from, donor.bytes.length, donor.boundaries);
      const i = at(m.at);
      return edited(concat([b.subarray(0, i), donor.bytes.subarray(from, from + m.len), b.subarray(i)]), i);
    }
    case 'record':
      return recordMutation(input, m);
  }
}

/** Drops, repeats or moves one whole record (between two record starts). */
function recordMutation(input: SeedInput, m: Extract<Mutation, { kind: 'record' }>): SeedInput {
  const starts = input.boundaries;
  if (starts.length < 2) return input;
  const b = input.bytes;
  const i = m.record % (starts.length - 1);
  const s = starts[i]!;
  const e = starts[i + 1]!;
  const rec = b.subarray(s, e);
  let bytes: Uint8Array;
  if (m.op === 'drop') bytes = concat([b.subarray(0, s), b.subarray(e)]);
  else if (m.op === 'duplicate') bytes = concat([b.subarray(0, e), rec, b.subarray(e)]);
  else {
    const to = starts[m.to % starts.length]!;
    const without = concat([b.subarray(0, s), b.subarray(e)]);
    const where = to > s ? Math.max(s, to - rec.length) : to;
    bytes = concat([without.subarray(0, where), rec, without.subarray(where)]);
  }
  return { name: input.name, bytes, boundaries: before(starts, Math.min(s, m.op === 'move' ? starts[m.to % starts.length]! : s)) };
}

/** Applies `mutations` in order. */
export function mutate(input: SeedInput, mutations: readonly Mutation[], donors: readonly SeedInput[]): SeedInput {
  let cur = input;
  for (const m of mutations) cur = applyMutation(cur, m, donors);
  return cur;
}

/** A short description of a mutation for failure reports. */
export function describeMutation(m: Mutation): string {
  const p = (x: Position): string => (x.anchor >= 0 ? `record#${x.anchor}+${x.delta}` : `@${x.delta}`);
  const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex');
  switch (m.kind) {
    case 'flip': return `flip bit ${m.bit} at ${p(m.at)}`;
    case 'set': return `set ${hex(m.bytes)} at ${p(m.at)}`;
    case 'insert': return `insert ${hex(m.bytes)} at ${p(m.at)}`;
    case 'delete': return `delete ${m.len} at ${p(m.at)}`;
    case 'truncate': return `truncate at ${p(m.at)}`;
    case 'splice': return `splice ${m.len} bytes of seed ${m.donor} from ${p(m.from)} at ${p(m.at)}`;
    case 'record': return `${m.op} record ${m.record}${m.op === 'move' ? ` to ${m.to}` : ''}`;
  }
}
