// The examples of a README: fenced blocks whose info string is `ts example` or `sh example`, in order.
import { readFileSync } from 'node:fs';

const FENCE = /^```(ts|sh) example[^\S\n]*\n([\s\S]*?)^```[^\S\n]*$/gm;

/** [{ lang: 'ts' | 'sh', code, line }] — `line` is the 1-based line of the opening fence. */
export function extractExamples(markdown) {
  const out = [];
  for (const m of markdown.matchAll(FENCE)) {
    out.push({ lang: m[1], code: m[2], line: markdown.slice(0, m.index).split('\n').length });
  }
  return out;
}

export function readmeExamples(file) {
  return extractExamples(readFileSync(file, 'utf8'));
}
