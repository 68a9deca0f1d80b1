/** Spans of object store calls: one CLIENT span per call of an {@link ArtifactStore} method. */
import { SpanKind } from '@opentelemetry/api';
import type { ArtifactStore } from '../storage.js';
import type { Tracing } from './tracing.js';

/**
 * The store with each of its methods run in a CLIENT span `S3 <method>` (bucket and key as
 * attributes); the store itself when tracing is off. A stream a method returns is not covered
 * beyond its opening.
 */
export function traceStore(store: ArtifactStore, tracing: Tracing): ArtifactStore {
  if (!tracing.enabled) return store;
  const traced: ArtifactStore = { ...store };
  for (const [op, fn] of Object.entries(store)) {
    if (typeof fn !== 'function') continue;
    (traced as unknown as Record<string, unknown>)[op] = (...args: unknown[]): Promise<unknown> =>
      tracing.inSpan(
        `S3 ${op}`,
        { kind: SpanKind.CLIENT, attributes: { 'rpc.system': 'aws-api', 'rpc.service': 'S3', 'rpc.method': op, 'aws.s3.bucket': store.bucket, ...(typeof args[0] === 'string' ? { 'aws.s3.key': args[0] } : {}) } },
        () => (fn as (...a: unknown[]) => Promise<unknown>).apply(store, args),
      );
  }
  return traced;
}
