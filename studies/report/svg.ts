/**
 * Hand-written SVG grouped bar charts (no dependency): one panel per link, one group per size (or
 * per organization), and in each group the paper's bar (light) beside the emulator's (solid) for
 * every organization. Coordinates are written with one fixed decimal and tick labels with fixed
 * decimals, so the same figures give the same bytes.
 */
import { type Cell, type Link, ORGANIZATIONS } from './cells.ts';
import { cellKey, type CellStats } from './replications.ts';
import { fmt, xmlEscape } from './format.ts';

export interface Bar {
  readonly org: string;
  readonly kind: 'paper' | 'emulator';
  /** null: the run failed to compute this figure (drawn as a "failed" label, no bar). */
  readonly value: number | null;
  /** Over replications: the range drawn as a whisker on the bar (the bar is the mean). */
  readonly min?: number;
  readonly max?: number;
  /** How many seeds the bar's mean is over (for its tooltip). */
  readonly n?: number;
}
export interface Group {
  readonly label: string;
  readonly bars: readonly Bar[];
}
export interface Panel {
  readonly title: string;
  readonly groups: readonly Group[];
}
export interface Chart {
  readonly title: string;
  readonly subtitle: string;
  readonly yLabel: string;
  readonly xLabel: string;
  /** Unit for the bars' tooltips. */
  readonly unit: string;
  readonly panels: readonly Panel[];
}

const ORG_COLOURS: { readonly [org: string]: string } = { ultrix: '#1f5f9e', 'mach-ux': '#b3412f', library: '#2b8a4b' };
const OTHER_COLOUR = '#6b6b6b';
const colour = (org: string): string => ORG_COLOURS[org] ?? OTHER_COLOUR;

const WIDTH = 900;
const LEFT = 72;
const RIGHT = 20;
const HEADER = 86; // title, subtitle, legend
const PANEL_HEIGHT = 290;
const PLOT_TOP = 34; // panel title above the plot
const PLOT_HEIGHT = 190;
const BAR_WIDTH_MAX = 64;

const n1 = (v: number): string => v.toFixed(1);

/** A step of 1, 2 or 5 × 10^k giving about five ticks up to `max`, and the decimals its labels need. */
export function niceTicks(max: number): { step: number; top: number; decimals: number } {
  const safeMax = max > 0 ? max : 1;
  const raw = safeMax / 5;
  const exp = Math.floor(Math.log10(raw));
  const mag = 10 ** exp;
  const norm = raw / mag;
  const step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
  const top = Math.ceil(safeMax / step - 1e-9) * step;
  return { step, top, decimals: Math.max(0, -Math.floor(Math.log10(step) + 1e-9)) };
}

export function renderChart(chart: Chart): string {
  const height = HEADER + chart.panels.length * PANEL_HEIGHT;
  const plotW = WIDTH - LEFT - RIGHT;
  const orgs = ORGANIZATIONS.filter((o) => chart.panels.some((p) => p.groups.some((g) => g.bars.some((b) => b.org === o))));
  const others = [...new Set(chart.panels.flatMap((p) => p.groups.flatMap((g) => g.bars.map((b) => b.org))))].filter((o) => !(ORGANIZATIONS as readonly string[]).includes(o));
  const legendOrgs = [...orgs, ...others];
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<title>${xmlEscape(chart.title)}</title>`,
    `<rect x="0" y="0" width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="16" font-weight="bold">${xmlEscape(chart.title)}</text>`,
    `<text x="${WIDTH / 2}" y="40" text-anchor="middle" fill="#444444">${xmlEscape(chart.subtitle)}</text>`,
  );
  // Legend: one swatch per organization, then what light and solid mean.
  let lx = LEFT;
  const ly = 58;
  for (const org of legendOrgs) {
    out.push(`<rect x="${lx}" y="${ly}" width="14" height="14" fill="${colour(org)}"/>`, `<text x="${lx + 20}" y="${ly + 11}">${xmlEscape(org)}</text>`);
    lx += 30 + org.length * 7;
  }
  lx += 20;
  out.push(
    `<rect x="${lx}" y="${ly}" width="14" height="14" fill="${OTHER_COLOUR}" fill-opacity="0.3" stroke="${OTHER_COLOUR}"/>`,
    `<text x="${lx + 20}" y="${ly + 11}">paper (light)</text>`,
    `<rect x="${lx + 120}" y="${ly}" width="14" height="14" fill="${OTHER_COLOUR}"/>`,
    `<text x="${lx + 140}" y="${ly + 11}">emulator (solid)</text>`,
  );
  chart.panels.forEach((panel, pi) => {
    const y0 = HEADER + pi * PANEL_HEIGHT;
    const plotTop = y0 + PLOT_TOP;
    const plotBottom = plotTop + PLOT_HEIGHT;
    const max = Math.max(0, ...panel.groups.flatMap((g) => g.bars.map((b) => Math.max(b.value ?? 0, b.max ?? 0))));
    const { step, top, decimals } = niceTicks(max);
    const yOf = (v: number): number => plotBottom - (v / top) * PLOT_HEIGHT;
    out.push(`<g>`, `<text x="${LEFT}" y="${y0 + 20}" font-size="14" font-weight="bold">${xmlEscape(panel.title)}</text>`);
    const ticks = Math.round(top / step);
    for (let k = 0; k <= ticks; k++) {
      const v = k * step;
      const y = n1(yOf(v));
      out.push(
        `<line x1="${LEFT}" y1="${y}" x2="${WIDTH - RIGHT}" y2="${y}" stroke="#dddddd"/>`,
        `<text x="${LEFT - 6}" y="${n1(yOf(v) + 4)}" text-anchor="end">${v.toFixed(decimals)}</text>`,
      );
    }
    out.push(
      `<line x1="${LEFT}" y1="${n1(plotTop)}" x2="${LEFT}" y2="${n1(plotBottom)}" stroke="#000000"/>`,
      `<line x1="${LEFT}" y1="${n1(plotBottom)}" x2="${WIDTH - RIGHT}" y2="${n1(plotBottom)}" stroke="#000000"/>`,
      `<text transform="translate(${LEFT - 48} ${n1((plotTop + plotBottom) / 2)}) rotate(-90)" text-anchor="middle">${xmlEscape(chart.yLabel)}</text>`,
      `<text x="${n1(LEFT + plotW / 2)}" y="${n1(plotBottom + 40)}" text-anchor="middle">${xmlEscape(chart.xLabel)}</text>`,
    );
    const groupW = plotW / Math.max(1, panel.groups.length);
    panel.groups.forEach((group, gi) => {
      const gx = LEFT + gi * groupW;
      const barW = Math.min(BAR_WIDTH_MAX, (groupW * 0.8) / Math.max(1, group.bars.length));
      const x0 = gx + (groupW - barW * group.bars.length) / 2;
      group.bars.forEach((bar, bi) => {
        const x = x0 + bi * barW;
        const c = colour(bar.org);
        if (bar.value === null) {
          out.push(`<text x="${n1(x + barW / 2)}" y="${n1(plotBottom - 3)}" text-anchor="middle" font-size="9" fill="#b00000">failed</text>`);
          return;
        }
        const y = yOf(bar.value);
        const style = bar.kind === 'paper' ? `fill="${c}" fill-opacity="0.3" stroke="${c}"` : `fill="${c}"`;
        const spread = bar.min !== undefined && bar.max !== undefined ? ` (mean over ${bar.n ?? '?'} seeds; min–max ${fmt(bar.min)}–${fmt(bar.max)})` : '';
        out.push(
          `<rect x="${n1(x + 1)}" y="${n1(y)}" width="${n1(barW - 2)}" height="${n1(plotBottom - y)}" ${style}><title>${xmlEscape(`${bar.org}, ${group.label}, ${bar.kind}: ${fmt(bar.value)} ${chart.unit}${spread}`)}</title></rect>`,
        );
        if (bar.min !== undefined && bar.max !== undefined) {
          // The whisker: min to max over the seeds, with caps, over the mean's bar.
          const cx = n1(x + barW / 2);
          const cap = Math.min(6, barW / 4);
          const [yLo, yHi] = [n1(yOf(bar.min)), n1(yOf(bar.max))];
          out.push(
            `<line x1="${cx}" y1="${yLo}" x2="${cx}" y2="${yHi}" stroke="#000000"/>`,
            `<line x1="${n1(x + barW / 2 - cap)}" y1="${yLo}" x2="${n1(x + barW / 2 + cap)}" y2="${yLo}" stroke="#000000"/>`,
            `<line x1="${n1(x + barW / 2 - cap)}" y1="${yHi}" x2="${n1(x + barW / 2 + cap)}" y2="${yHi}" stroke="#000000"/>`,
          );
        }
        // The paper's figure as the paper prints it; the emulator's to about three figures.
        const labelY = bar.max !== undefined ? Math.min(y, yOf(bar.max)) : y;
        out.push(`<text x="${n1(x + barW / 2)}" y="${n1(labelY - 3)}" text-anchor="middle" font-size="9">${bar.kind === 'paper' ? String(bar.value) : fmt(bar.value)}</text>`);
      });
      out.push(`<text x="${n1(gx + groupW / 2)}" y="${n1(plotBottom + 18)}" text-anchor="middle">${xmlEscape(group.label)}</text>`);
    });
    out.push(`</g>`);
  });
  out.push(`</svg>`);
  return out.join('\n') + '\n';
}

const LINK_TITLES: { readonly [l in Link]: string } = { ethernet: 'Ethernet (10 Mb/s, LANCE)', an1: 'AN1 (100 Mb/s, BQI)' };

/** Tables 2 and 3: a panel per link, a group per size, paper and emulator bars per organization. */
/** The emulator's bar for a cell: its figure, and with replications the min–max whisker. */
function emulatorBar(c: Cell, spread: ReadonlyMap<string, CellStats> | undefined): Bar {
  const s = spread?.get(cellKey(c));
  return s !== undefined && s.min !== null && s.max !== null
    ? { org: c.organization, kind: 'emulator', value: c.emulator, min: s.min, max: s.max, n: s.seeds.length }
    : { org: c.organization, kind: 'emulator', value: c.emulator };
}

export function sizeChart(cells: readonly Cell[], meta: Omit<Chart, 'panels' | 'xLabel'> & { readonly metric: string }, spread?: ReadonlyMap<string, CellStats>): Chart | undefined {
  const panels: Panel[] = [];
  for (const link of ['ethernet', 'an1'] as const) {
    const mine = cells.filter((c) => c.link === link && c.metric === meta.metric && c.sizeBytes !== null);
    if (mine.length === 0) continue;
    const sizes = [...new Set(mine.map((c) => c.sizeBytes!))].sort((a, b) => a - b);
    const orgs = [...new Set(mine.map((c) => c.organization))];
    const groups = sizes.map((size) => ({
      label: `${size} B`,
      bars: orgs.flatMap((org): Bar[] => {
        const c = mine.find((x) => x.organization === org && x.sizeBytes === size);
        return c === undefined ? [] : [{ org, kind: 'paper', value: c.paper }, emulatorBar(c, spread)];
      }),
    }));
    panels.push({ title: LINK_TITLES[link], groups });
  }
  if (panels.length === 0) return undefined;
  return { title: meta.title, subtitle: meta.subtitle, yLabel: meta.yLabel, unit: meta.unit, xLabel: meta.metric === 'throughput' ? 'write size (bytes)' : 'message size (bytes)', panels };
}

/** Table 4: a panel per link, a group per organization. */
export function perOrgChart(cells: readonly Cell[], meta: Omit<Chart, 'panels' | 'xLabel'> & { readonly metric: string }, spread?: ReadonlyMap<string, CellStats>): Chart | undefined {
  const panels: Panel[] = [];
  for (const link of ['ethernet', 'an1'] as const) {
    const mine = cells.filter((c) => c.link === link && c.metric === meta.metric);
    if (mine.length === 0) continue;
    panels.push({
      title: LINK_TITLES[link],
      groups: mine.map((c) => ({ label: c.organization, bars: [{ org: c.organization, kind: 'paper', value: c.paper }, emulatorBar(c, spread)] })),
    });
  }
  if (panels.length === 0) return undefined;
  return { title: meta.title, subtitle: meta.subtitle, yLabel: meta.yLabel, unit: meta.unit, xLabel: 'organization', panels };
}
