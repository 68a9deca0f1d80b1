/**
 * A Prometheus registry per service runtime (never prom-client's global one, so several runtimes
 * in one test process do not clash), with the process and Node defaults, and helpers that define
 * a metric once per name so services add their domain metrics where they need them.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { InvalidInputError } from '../errors.js';

/** Latency buckets in seconds, from 1 ms to 1 min: gRPC calls, event handling, publishing. */
export const LATENCY_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Buckets in seconds for long work (stages, trainings), from 0.1 s to 1 h. */
export const DURATION_BUCKETS: readonly number[] = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

/** Definition of one metric family. */
export type MetricDef<L extends string> = {
  /** `refit_…`; units as suffixes (`_seconds`, `_total` for counters). */
  name: string;
  help: string;
  /** Bounded labels only: a pipeline, a version, a state — never a run, prediction or event id. */
  labelNames?: readonly L[];
};

/** A gauge's definition; `collect` sets its values when scraped. */
export type GaugeDef<L extends string> = MetricDef<L> & { collect?: (gauge: Gauge<L>) => Promise<void> | void };

/** A histogram's definition (default buckets {@link LATENCY_BUCKETS}). */
export type HistogramDef<L extends string> = MetricDef<L> & { buckets?: readonly number[] };

/** The metrics of one service process. */
export interface ServiceMetrics {
  /** The registry every metric of this runtime is in. */
  readonly registry: Registry;
  /** The counter called `name`, created on first use. */
  counter<L extends string = never>(def: MetricDef<L>): Counter<L>;
  /** The histogram called `name`, created on first use. */
  histogram<L extends string = never>(def: HistogramDef<L>): Histogram<L>;
  /** The gauge called `name`, created on first use. */
  gauge<L extends string = never>(def: GaugeDef<L>): Gauge<L>;
  /** The exposition text of every metric (what GET /metrics answers). */
  expose(): Promise<string>;
}

const NAME = /^refit_[a-z0-9_]+$/;

/**
 * Creates the registry of one service, labelled `service="<name>"`, with prom-client's default
 * process and Node metrics (unless `defaults` is false).
 */
export function createServiceMetrics(opts: { service: string; defaults?: boolean }): ServiceMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service: opts.service });
  if (opts.defaults !== false) collectDefaultMetrics({ register: registry });

  const once = <M>(def: MetricDef<string>, kind: new (...args: never[]) => M, make: () => M): M => {
    if (!NAME.test(def.name)) throw new InvalidInputError(`metric name ${JSON.stringify(def.name)}: expected refit_ followed by lower-case letters, digits and _`);
    const existing = registry.getSingleMetric(def.name);
    if (existing === undefined) return make();
    if (!(existing instanceof kind)) throw new InvalidInputError(`metric ${def.name} is already registered as another type`);
    return existing;
  };
  const labels = (def: MetricDef<string>): string[] => [...(def.labelNames ?? [])];

  return {
    registry,
    counter: <L extends string = never>(def: MetricDef<L>) =>
      once(def, Counter, () => new Counter<L>({ name: def.name, help: def.help, labelNames: labels(def) as L[], registers: [registry] })) as Counter<L>,
    histogram: <L extends string = never>(def: HistogramDef<L>) =>
      once(def, Histogram, () => new Histogram<L>({ name: def.name, help: def.help, labelNames: labels(def) as L[], buckets: [...(def.buckets ?? LATENCY_BUCKETS)], registers: [registry] })) as Histogram<L>,
    gauge: <L extends string = never>(def: GaugeDef<L>) =>
      once(def, Gauge, () => {
        const collect = def.collect;
        return new Gauge<L>({
          name: def.name,
          help: def.help,
          labelNames: labels(def) as L[],
          registers: [registry],
          ...(collect ? { async collect(this: Gauge<L>) { await collect(this); } } : {}),
        });
      }) as Gauge<L>,
    expose: () => registry.metrics(),
  };
}

/** Resolves `p`, or `undefined` after `ms` (a scrape must never hang on a dependency). */
export async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
