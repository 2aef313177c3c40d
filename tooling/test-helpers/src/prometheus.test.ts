import { describe, expect, it } from 'vitest';
import { parsePrometheusText } from './prometheus.js';

describe('parsePrometheusText', () => {
  it('reads families, labels with escapes, NaN, timestamps and histogram parts', () => {
    const text = [
      '# HELP a_bytes Bytes of a.',
      '# TYPE a_bytes gauge',
      'a_bytes{name="g\\"1",x="a\\\\b"} 12.5',
      'a_bytes{name="g2"} NaN 1700000000000',
      '# TYPE h histogram',
      'h_bucket{le="+Inf"} 3',
      'h_sum 4',
      'h_count 3',
      'plain 1e3',
      'odd{k="v"} Nan',
      'inf -Inf',
    ].join('\n');
    const f = parsePrometheusText(text);
    expect(f.get('a_bytes')).toMatchObject({ type: 'gauge', help: 'Bytes of a.' });
    expect(f.get('a_bytes')!.samples[0]).toEqual({ name: 'a_bytes', labels: { name: 'g"1', x: 'a\\b' }, value: 12.5 });
    expect(Number.isNaN(f.get('a_bytes')!.samples[1]!.value)).toBe(true);
    expect(f.get('h')!.samples.map((s) => s.name)).toEqual(['h_bucket', 'h_sum', 'h_count']);
    expect(f.get('plain')!.samples[0]!.value).toBe(1000);
    expect(Number.isNaN(f.get('odd')!.samples[0]!.value)).toBe(true);
    expect(f.get('inf')!.samples[0]!.value).toBe(-Infinity);
  });

  it('refuses malformed lines naming the line', () => {
    expect(() => parsePrometheusText('ok 1\nbad{x=1} 2')).toThrow(/line 2: bad label/);
    expect(() => parsePrometheusText('x one')).toThrow(/line 1: bad value 'one'/);
    expect(() => parsePrometheusText('# TYPE x gauges')).toThrow(/unknown type 'gauges'/);
    expect(() => parsePrometheusText('x 1 2 3')).toThrow(/trailing text/);
  });
});
