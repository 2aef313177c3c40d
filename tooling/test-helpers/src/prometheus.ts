// A reader of Prometheus' text exposition format (version 0.0.4), strict enough to catch a malformed scrape:
// HELP and TYPE lines, samples `name{label="value",...} value [timestamp]`, escapes in label values.
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface PromFamily {
  name: string;
  help: string;
  type: string;
  samples: PromSample[];
}

export class PromParseError extends Error {
  constructor(readonly line: number, message: string) {
    super(`exposition line ${line}: ${message}`);
    this.name = 'PromParseError';
  }
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** Go's float syntax, as Prometheus reads it: NaN and Inf in any case (prom-client writes "Nan"). */
function parseValue(text: string, line: number): number {
  if (/^nan$/i.test(text)) return NaN;
  const inf = /^([+-]?)inf(inity)?$/i.exec(text);
  if (inf) return inf[1] === '-' ? -Infinity : Infinity;
  const v = Number(text);
  if (text === '' || Number.isNaN(v)) throw new PromParseError(line, `bad value '${text}'`);
  return v;
}

function parseLabels(text: string, line: number): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 1; // after '{'
  while (text[i] !== '}') {
    const name = NAME.exec(text.slice(i))?.[0];
    if (!name || text[i + name.length] !== '=' || text[i + name.length + 1] !== '"') throw new PromParseError(line, `bad label at '${text.slice(i)}'`);
    i += name.length + 2;
    let value = '';
    for (; text[i] !== '"'; i++) {
      if (i >= text.length) throw new PromParseError(line, 'unterminated label value');
      if (text[i] === '\\') {
        const e = text[++i];
        value += e === 'n' ? '\n' : e;
      } else value += text[i];
    }
    labels[name] = value;
    i++;
    if (text[i] === ',') i++;
  }
  return { labels, rest: text.slice(i + 1) };
}

/** The metric families of a scrape, by name; samples of histograms and summaries go to their family. */
export function parsePrometheusText(text: string): Map<string, PromFamily> {
  const families = new Map<string, PromFamily>();
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, help: '', type: 'untyped', samples: [] }));
    return f;
  };
  text.split('\n').forEach((raw, index) => {
    const n = index + 1;
    const line = raw.trim();
    if (line === '') return;
    const meta = /^#\s+(HELP|TYPE)\s+([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(.*)$/.exec(line);
    if (meta) {
      if (meta[1] === 'HELP') family(meta[2]!).help = meta[3]!;
      else if (!TYPES.has(meta[3]!)) throw new PromParseError(n, `unknown type '${meta[3]}'`);
      else family(meta[2]!).type = meta[3]!;
      return;
    }
    if (line.startsWith('#')) return;
    const name = NAME.exec(line)?.[0];
    if (!name) throw new PromParseError(n, `no metric name in '${line}'`);
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) ({ labels, rest } = parseLabels(rest, n));
    const [value, timestamp, extra] = rest.trim().split(/\s+/);
    if (extra !== undefined || (timestamp !== undefined && !/^-?\d+$/.test(timestamp))) throw new PromParseError(n, `trailing text in '${line}'`);
    const base = name.replace(/_(bucket|sum|count)$/, '');
    const owner = families.has(name) || !families.has(base) ? name : base;
    family(owner).samples.push({ name, labels, value: parseValue(value ?? '', n) });
  });
  return families;
}
