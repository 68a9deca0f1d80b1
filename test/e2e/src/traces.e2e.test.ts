import { randomBytes } from 'node:crypto';
import { runDemo, type DemoResult } from '@refit/cli';
import { resetNamespace } from '@refit/stack';
import { startOtlpCollector, waitFor, type CollectedSpan, type OtlpCollector } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Each test file gets its own namespace on the real Postgres, NATS and S3.
const id = randomBytes(3).toString('hex');
const env = {
  REFIT_SCHEMA_PREFIX: `e2e_${id}_`,
  REFIT_STREAM: `E2E_${id}`,
  REFIT_SUBJECT_PREFIX: `e2e${id}`,
  REFIT_S3_BUCKET: `e2e-${id}`,
  REFIT_ACK_WAIT_MS: '3000',
};
const pgUrl = process.env.REFIT_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/refit';
const natsUrl = process.env.REFIT_NATS_URL ?? 'nats://127.0.0.1:4222';
const SERVICES = ['trigger', 'ingestion', 'feature', 'trainer', 'evaluator', 'registry', 'deployer'];
const SPAN_SERVER = 2;
const SPAN_CONSUMER = 5;

describe('traces of the retraining loop, all seven services as processes exporting OTLP', () => {
  let collector: OtlpCollector;
  let demo: DemoResult;

  beforeAll(async () => {
    collector = await startOtlpCollector();
    // The demo stops the stack at its end: each service exports its last spans as it closes.
    demo = await runDemo({ env: { ...env, REFIT_OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint } });
  });

  afterAll(async () => {
    await collector?.close();
    await resetNamespace({ pgUrl, schemaPrefix: env.REFIT_SCHEMA_PREFIX, natsUrl, stream: env.REFIT_STREAM });
  });

  it('makes each run one trace from the TriggerRun call to deployment.serving, covering all seven services, parent links intact', async () => {
    for (const { run } of demo.runs) {
      const requested = await waitFor(() => collector.spans.find((s) => s.name === `publish ${env.REFIT_SUBJECT_PREFIX}.run.requested` && s.attributes['refit.run_id'] === run.runId));
      const spans = collector.spans.filter((s) => s.traceId === requested.traceId);
      const ids = new Set(spans.map((s) => s.spanId));
      const roots = spans.filter((s) => !s.parentSpanId);
      expect(roots.map((s) => `${s.service} ${s.name}`)).toEqual(['trigger refit.trigger.v1.TriggerService/TriggerRun']);
      expect(roots[0].kind).toBe(SPAN_SERVER);
      const orphans = spans.filter((s) => s.parentSpanId && !ids.has(s.parentSpanId)).map((s) => `${s.service} ${s.name}`);
      expect(orphans).toEqual([]);
      expect(new Set(spans.map((s) => s.service))).toEqual(new Set(SERVICES));
      // A span per stage: each stage's service handles the event that starts it.
      const consumed = (s: CollectedSpan) => s.kind === SPAN_CONSUMER && s.attributes['refit.run_id'] === run.runId;
      for (const service of SERVICES) expect(spans.some((s) => s.service === service && consumed(s)), service).toBe(true);
      // … until the deployer announces the model served and the trigger closes the run.
      expect(spans.some((s) => s.service === 'deployer' && s.name === `publish ${env.REFIT_SUBJECT_PREFIX}.deployment.serving`)).toBe(true);
      expect(spans.some((s) => s.service === 'trigger' && s.name === `process ${env.REFIT_SUBJECT_PREFIX}.deployment.serving`)).toBe(true);
    }
  });
});
