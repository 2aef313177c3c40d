import { describe, expect, it } from 'vitest';
import { checkJsonLimits, NESTING_LIMIT_DESC, QEMU_MAX_NESTING, QEMU_MAX_TOKEN_COUNT, TOKEN_COUNT_LIMIT_DESC } from './json-limits.js';

const QEMU = { maxNesting: QEMU_MAX_NESTING, maxTokens: QEMU_MAX_TOKEN_COUNT };
const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

describe('checkJsonLimits', () => {
  it('lets 1024 levels through and refuses 1025, counting the request object (QEMU 7.2 answers the same)', () => {
    expect(checkJsonLimits(`{"execute":"query-status","id":${nested(1023)}}`, QEMU)).toBeUndefined();
    expect(checkJsonLimits(`{"execute":"query-status","id":${nested(1024)}}`, QEMU)).toBe(NESTING_LIMIT_DESC);
    expect(NESTING_LIMIT_DESC).toBe('JSON nesting depth limit exceeded');
  });

  it('depth is what is open at once, not how many brackets there are', () => {
    const wide = `[${Array.from({ length: 5000 }, () => '{"a":[1]}').join(',')}]`;
    expect(checkJsonLimits(wide, QEMU)).toBeUndefined();
    expect(checkJsonLimits(`${']'.repeat(10)}${nested(1024)}`, QEMU)).toBeUndefined();
    expect(checkJsonLimits(`${']'.repeat(10)}${nested(1025)}`, QEMU)).toBe(NESTING_LIMIT_DESC);
  });

  it('ignores brackets and quotes inside strings, escaped quotes included', () => {
    const inside = `{"id":"${'['.repeat(5000)}\\"${'{'.repeat(5000)}\\\\"}`;
    expect(checkJsonLimits(inside, QEMU)).toBeUndefined();
    expect(JSON.parse(inside)).toEqual({ id: `${'['.repeat(5000)}"${'{'.repeat(5000)}\\` });
  });

  it('counts tokens as QEMU lexes them: punctuation, strings, numbers and keywords', () => {
    const line = '{"execute": "x", "arguments": {"a": [1, -2.5e3, true, null]}}';
    // { "execute" : "x" , "arguments" : { "a" : [ 1 , -2.5e3 , true , null ] } }: 21
    expect(checkJsonLimits(line, { maxNesting: 10, maxTokens: 21 })).toBeUndefined();
    expect(checkJsonLimits(line, { maxNesting: 10, maxTokens: 20 })).toBe(TOKEN_COUNT_LIMIT_DESC);
  });

  it("refuses more than QEMU's 2 Mi tokens with QEMU's desc", () => {
    const count = (n: number) => `[${'0,'.repeat((n - 3) / 2)}0]`; // n tokens (n odd)
    expect(checkJsonLimits(count(QEMU_MAX_TOKEN_COUNT - 1), QEMU)).toBeUndefined();
    expect(checkJsonLimits(count(QEMU_MAX_TOKEN_COUNT + 1), QEMU)).toBe(TOKEN_COUNT_LIMIT_DESC);
    expect(TOKEN_COUNT_LIMIT_DESC).toBe('JSON token count limit exceeded');
  });
});
