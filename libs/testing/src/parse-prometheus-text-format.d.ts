/** Types of parse-prometheus-text-format 1.1.1, which ships none (the shape of prom2json's output). */
declare module 'parse-prometheus-text-format' {
  /** One sample of a counter, gauge or untyped family; values are strings as written. */
  export interface PromSample {
    labels?: Record<string, string>;
    value: string;
    timestamp_ms?: string;
  }
  /** One series of a histogram or summary. */
  export interface PromDistribution {
    labels?: Record<string, string>;
    buckets?: Record<string, string>;
    quantiles?: Record<string, string>;
    count: string;
    sum: string;
  }
  /** One metric family. */
  export interface PromFamily {
    name: string;
    help: string;
    type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
    metrics: Array<PromSample | PromDistribution>;
  }
  /** Parses the text exposition format; throws on a line it does not understand. */
  export default function parsePrometheusTextFormat(text: string): PromFamily[];
}
