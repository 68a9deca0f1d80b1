/** Chart blocks: a container with its data as JSON; the page script draws it with uPlot. */
import { html, jsonBlock, type SafeHtml } from './html.js';

/** One line of a chart: points (x[i], y[i]); they need not be sorted. */
export type ChartSeries = { label: string; x: readonly number[]; y: readonly (number | null)[]; points?: boolean };

/** A line chart. */
export type ChartSpec = {
  /** data-testid of the container (`roc-chart`…). */
  testid: string;
  title: string;
  /** Axis labels. */
  x: string;
  y: string;
  series: ChartSeries[];
  /** x holds Unix seconds. */
  time?: boolean;
  height?: number;
};

/** A chart container; a table of its data is not repeated, the title says what it shows. */
export function chart(spec: ChartSpec): SafeHtml {
  const { testid, title, ...data } = spec;
  const points = spec.series.reduce((n, s) => n + s.x.length, 0);
  return html`<figure class="chart" data-chart data-testid="${testid}"><figcaption>${title} <span class="muted">(${points} points)</span></figcaption><div class="plot"></div>${jsonBlock(data)}</figure>`;
}
