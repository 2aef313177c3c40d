// The picture of a migration as a Vega-Lite spec: three panels over one time axis — remaining bytes (RAM,
// and disk when it was migrated), throughput, dirty rate — each with a dashed rule per pass and the
// downtime as a shaded band. Marks are named (`<panel>_line`, `<panel>_passes`, `<panel>_downtime`) so
// the SVG the library draws can be checked by what it shows.
import type { TopLevelSpec } from 'vega-lite';
import type { MigrationTimeline } from './migration-record.js';

/** The font of every text, embedded in the PNG (dejavu-fonts-ttf) so it renders the same everywhere. */
export const CHART_FONT = 'DejaVu Sans';
export const PANEL_WIDTH = 720;
export const PANEL_HEIGHT = 150;
const MiB = 1 << 20;
const PASS_COLOR = '#555555';
const DOWNTIME_COLOR = '#d62728';

export interface TimelineSpecOptions {
  readonly title?: string;
}

type Layer = Record<string, unknown>;

function timeAxis(tMax: number): Layer {
  return { field: 't', type: 'quantitative', title: 'time (s)', scale: { domain: [0, tMax], nice: false } };
}

function passLayers(panel: string, x: Layer, labelled: boolean): Layer[] {
  const rules: Layer = {
    name: `${panel}_passes`,
    data: { name: 'passes' },
    mark: { type: 'rule', color: PASS_COLOR, strokeDash: [4, 3], strokeWidth: 1 },
    encoding: { x },
  };
  if (!labelled) return [rules];
  const labels: Layer = {
    name: `${panel}_pass_labels`,
    data: { name: 'passes' },
    mark: { type: 'text', align: 'left', baseline: 'top', dx: 3, dy: 2, fontSize: 10, color: PASS_COLOR },
    encoding: { x, y: { value: 0 }, text: { field: 'label' } },
  };
  return [rules, labels];
}

function downtimeLayers(panel: string, x: Layer, labelled: boolean): Layer[] {
  const band: Layer = {
    name: `${panel}_downtime`,
    data: { name: 'downtime' },
    mark: { type: 'rect', color: DOWNTIME_COLOR, opacity: 0.25 },
    encoding: { x, x2: { field: 'end' } },
  };
  if (!labelled) return [band];
  const label: Layer = {
    name: `${panel}_downtime_label`,
    data: { name: 'downtime' },
    mark: { type: 'text', align: 'right', baseline: 'top', dx: -3, fontSize: 10, color: DOWNTIME_COLOR },
    encoding: { x, y: { value: 16 }, text: { field: 'label' } },
  };
  return [band, label];
}

function panel(name: string, line: Layer, t: MigrationTimeline, tMax: number): Layer {
  const x = timeAxis(tMax);
  const first = name === 'remaining';
  const downtime = t.downtime ? downtimeLayers(name, { ...x, field: 'start' }, first) : [];
  const passes = t.passes.length > 0 ? passLayers(name, x, first) : [];
  const lineLayer = { name: `${name}_line`, ...line, encoding: { x, ...(line.encoding as Layer) } };
  return { width: PANEL_WIDTH, height: PANEL_HEIGHT, layer: [...downtime, lineLayer, ...passes] };
}

function datasets(t: MigrationTimeline, tMax: number): Record<string, Layer[]> {
  const remaining: Layer[] = [];
  for (const s of t.samples) {
    remaining.push({ t: s.t, series: 'RAM', mib: s.remaining / MiB });
    if (s.disk) remaining.push({ t: s.t, series: 'disk', mib: s.disk.remaining / MiB });
  }
  const rates = t.samples.map((s) => ({ t: s.t, mbps: s.mbps, dirty: s.dirtyRate / MiB }));
  const passes = t.passes.map((p) => ({ t: p.t, label: `pass ${p.pass}` }));
  const d = t.downtime;
  const downtime = d ? [{ start: d.start, end: d.end ?? tMax, label: `downtime ${Math.round(((d.end ?? tMax) - d.start) * 1000)} ms` }] : [];
  return { remaining, rates, passes, downtime };
}

export function timelineSpec(t: MigrationTimeline, options: TimelineSpecOptions = {}): TopLevelSpec {
  const tMax = Math.max(t.samples[t.samples.length - 1]!.t, t.downtime?.end ?? 0, ...t.passes.map((p) => p.t), 0.001);
  const hasDisk = t.samples.some((s) => s.disk !== undefined);
  const series = hasDisk ? ['RAM', 'disk'] : ['RAM'];
  const remaining = {
    data: { name: 'remaining' },
    mark: { type: 'line', interpolate: 'linear' },
    encoding: {
      y: { field: 'mib', type: 'quantitative', title: 'remaining (MiB)' },
      color: { field: 'series', type: 'nominal', title: null, scale: { domain: series, range: ['#1f77b4', '#ff7f0e'] }, legend: { orient: 'right' } },
    },
  };
  const line = (field: string, title: string, color: string): Layer => ({
    data: { name: 'rates' },
    mark: { type: 'line', color },
    encoding: { y: { field, type: 'quantitative', title } },
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: options.title ?? 'migration',
    config: { font: CHART_FONT, background: 'white' },
    datasets: datasets(t, tMax),
    vconcat: [
      panel('remaining', remaining, t, tMax),
      panel('throughput', line('mbps', 'throughput (Mbit/s)', '#2ca02c'), t, tMax),
      panel('dirty', line('dirty', 'dirty rate (MiB/s)', '#9467bd'), t, tMax),
    ],
    resolve: { scale: { x: 'shared', color: 'independent' } },
  } as unknown as TopLevelSpec; // built as plain JSON; the tests compile and draw it and check every mark
}
