/** Prometheus metrics of the ingestion service's stream sources. */
import type { ServiceMetrics } from '@refit/platform';

/** Defines (once) and returns the stream sources' metric families in `metrics`. */
export function streamMetrics(metrics: ServiceMetrics) {
  return {
    /** Rows read from a pipeline's stream and persisted in a segment, by outcome (accepted, quarantined). */
    rows: metrics.counter({ name: 'refit_stream_rows_total', help: 'Stream rows persisted in segments, by pipeline and outcome (accepted, quarantined)', labelNames: ['pipeline', 'outcome'] }),
    /** Labels read, by outcome (joined, quarantined). */
    labels: metrics.counter({ name: 'refit_stream_labels_total', help: 'Stream labels, by pipeline and outcome (joined, quarantined)', labelNames: ['pipeline', 'outcome'] }),
    /** Rows that waited past labelWaitHours without a label. */
    expired: metrics.counter({ name: 'refit_stream_rows_expired_total', help: 'Stream rows that expired without a label, by pipeline', labelNames: ['pipeline'] }),
    /** Segments written. */
    segments: metrics.counter({ name: 'refit_stream_segments_total', help: 'Stream segments persisted, by pipeline', labelNames: ['pipeline'] }),
    /** Messages on the stream not yet persisted in a segment, as of the last segment. */
    lag: metrics.gauge({ name: 'refit_stream_lag_messages', help: 'Stream messages not yet persisted in a segment (consumer lag), by pipeline', labelNames: ['pipeline'] }),
    /** How full the stream is (messages or bytes, whichever is fuller): at 1 it refuses publishers. */
    fill: metrics.gauge({ name: 'refit_stream_fill_ratio', help: 'How full a pipeline stream is (0 to 1; at 1 publishers are refused), by pipeline', labelNames: ['pipeline'] }),
  };
}

/** The stream sources' metrics. */
export type StreamMetrics = ReturnType<typeof streamMetrics>;
