/**
 * QEMU 7.2's bounds on one JSON message (qobject/json-streamer.c): at most MAX_NESTING = 1024 open arrays and
 * objects at once, at most MAX_TOKEN_COUNT = 2 Mi tokens, at most MAX_TOKEN_SIZE = 64 MiB of token text. The
 * size bound is the framing's line bound here (see framing.ts); this module checks the other two on a complete
 * line before JSON.parse, so that nothing downstream (zod, JSON.stringify of an echoed id) meets a value nested
 * deeper than QEMU would let through. The descs are QEMU's.
 */
export const QEMU_MAX_NESTING = 1024;
export const QEMU_MAX_TOKEN_COUNT = 2 * 1024 * 1024;

export const NESTING_LIMIT_DESC = 'JSON nesting depth limit exceeded';
export const TOKEN_COUNT_LIMIT_DESC = 'JSON token count limit exceeded';
export const TOKEN_SIZE_LIMIT_DESC = 'JSON token size limit exceeded';

export interface JsonLimits {
  maxNesting: number;
  maxTokens: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Punctuation tokens and the characters that end a run of number/keyword characters. */
function isDelimiter(c: number): boolean {
  return c === 0x7b || c === 0x7d || c === 0x5b || c === 0x5d || c === 0x3a || c === 0x2c || c === QUOTE ||
    c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/**
 * QEMU's desc for the first bound `line` breaks, or undefined. Tokens are counted as QEMU's lexer makes them:
 * each of `{}[]:,`, each string, each run of other non-space characters (a number, true/false/null, or junk
 * that JSON.parse then refuses). Depth is opened minus closed brackets, checked as each one opens.
 */
export function checkJsonLimits(line: string, limits: JsonLimits): string | undefined {
  let depth = 0;
  let tokens = 0;
  let inString = false;
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
      continue;
    }
    if (!isDelimiter(c)) {
      if (!inWord && ++tokens > limits.maxTokens) return TOKEN_COUNT_LIMIT_DESC;
      inWord = true;
      continue;
    }
    inWord = false;
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) continue;
    if (++tokens > limits.maxTokens) return TOKEN_COUNT_LIMIT_DESC;
    if (c === QUOTE) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > limits.maxNesting) return NESTING_LIMIT_DESC;
    } else if ((c === 0x7d || c === 0x5d) && depth > 0) depth--;
  }
  return undefined;
}
