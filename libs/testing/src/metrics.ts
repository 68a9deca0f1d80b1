// The parser ships no types, and projects that compile this file from source must see them too.
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="./parse-prometheus-text-format.d.ts" />
/** Reading a service's Prometheus endpoint in tests: scraped, parsed by a real exposition parser. */
import parsePrometheusTextFormat, { type PromFamily, type PromSample } from 'parse-prometheus-text-format';

/** One scrape: its families as the parser reads them, and every series by its own name. */
export type Scrape = {
  /** The families by name (histograms of labelled series come out merged: use {@link metricValue}). */
  families: Map<string, PromFamily>;
  /** Every sample by the name it has in the text (`x_count`, `x_bucket`…), labels intact. */
  series: Map<string, PromSample[]>;
};

/** The text without HELP and TYPE lines: every sample name then stands on its own, labels kept. */
const untyped = (text: string): string => text.split('\n').filter((l) => !l.startsWith('#')).join('\n');

/**
 * GETs `http://<host>:<port>/metrics` and parses the whole answer (throws on anything the parser
 * does not accept, or a status other than 200).
 */
export async function scrapeMetrics(port: number, host = '127.0.0.1'): Promise<Scrape> {
  const res = await fetch(`http://${host}:${port}/metrics`, { signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET /metrics on port ${port} answered ${res.status}: ${text.slice(0, 200)}`);
  const families = new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f]));
  // parse-prometheus-text-format folds the series of a labelled histogram into one sample and
  // drops their labels and counts, so values are read from a second, untyped parse.
  const series = new Map<string, PromSample[]>();
  for (const f of parsePrometheusTextFormat(untyped(text))) series.set(f.name, [...(series.get(f.name) ?? []), ...(f.metrics as PromSample[])]);
  return { families, series };
}

const matches = (labels: Record<string, string> | undefined, want: Record<string, string>): boolean =>
  Object.entries(want).every(([k, v]) => labels?.[k] === v);

/**
 * The sum over the series of family `name` whose labels include `labels`: a counter's or gauge's
 * value, a histogram's count. 0 when the family or the series is missing.
 */
export function metricValue(scrape: Scrape, name: string, labels: Record<string, string> = {}): number {
  const samples = scrape.series.get(name) ?? scrape.series.get(`${name}_count`) ?? [];
  return samples.filter((m) => matches(m.labels, labels)).reduce((sum, m) => sum + Number(m.value), 0);
}

/** The values of label `label` across the series of family `name`. */
export function labelValues(scrape: Scrape, name: string, label: string): string[] {
  const samples = scrape.series.get(name) ?? scrape.series.get(`${name}_count`) ?? [];
  return [...new Set(samples.map((m) => m.labels?.[label]).filter((v): v is string => v !== undefined))];
}
