import { create, fromBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EvaluationDetailsSchema, EvaluatorService, LineageSchema, Verdict, type Lineage } from '@refit/contracts';
import { applyTransform, encodeMatrix, fitTransform, initBackend, labelsOf, serializeTransform, trainModel, type RawRow } from '@refit/modeling';
import { createClient, EVENTS, withTransaction, wireRef, type EventDef, type ServiceRuntime } from '@refit/platform';
import { parseSpec, type PipelineSpec } from '@refit/spec';
import { createTestEnv, readEvents, serviceEnv, startServiceProcess, startTestRuntime, waitFor, wageRows, type ServiceProcess, type TestEnv } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import type { ConsistencyEvaluation } from './consistency.js';
import { expectSameReport } from './report.fixtures.js';
import { startEvaluatorService } from './service.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = join(here, '../../..');
// The wage example with a consistency gate at 0.79 (see consistency.test.ts for the measured scores).
const yaml = readFileSync(join(root, 'examples/wage-fairness.yaml'), 'utf8');
const spec = parseSpec(yaml.replace('\ngates:\n', '\ngates:\n  consistency: { min: 0.79 }\n'));
const rows = wageRows();
const test = rows.filter((_, i) => i % 5 < 2);
const train = rows.filter((_, i) => i % 5 >= 2);
const jsonl = (rs: RawRow[]): Buffer => Buffer.from(`${rs.map((r) => JSON.stringify(r)).join('\n')}\n`);
const withSensitive: PipelineSpec['features'] = [...spec.features, { name: 'gender', type: 'category' }, { name: 'race', type: 'category' }];

describe('the evaluator reports and gates the consistency score (registry as a process)', () => {
  let env: TestEnv;
  let registry: ServiceProcess;
  let rt: ServiceRuntime;
  let client: ReturnType<typeof createClient<typeof EvaluatorService>>;

  /** Trains the spec's model on `features` and stores what the trainer would: model, transform, test features, raw test rows. */
  async function stored(features: PipelineSpec['features']): Promise<Lineage> {
    const transform = fitTransform(train, features);
    const tr = applyTransform(transform, train);
    // The fixture models these tests were built around: mini-batch Adam, as the spec trained before solver auto.
    const result = await trainModel({ X: tr.X, y: labelsOf(train, spec.label), n: tr.n, d: tr.d, spec: { ...spec.model, solver: 'adam' } });
    const te = applyTransform(transform, test);
    const put = (dir: string, body: Buffer, ext: string) => rt.store.putContentAddressed(`pipelines/${spec.name}/${dir}`, body, ext);
    const [model, transformRef, featuresTest, rawTest] = await Promise.all([
      put('models', await result.model.serialize(), '.refitm'),
      put('transforms', serializeTransform(transform), '.json'),
      put('features', encodeMatrix({ ...te, y: labelsOf(test, spec.label) }), '.bin'),
      put('snapshots', jsonl(test), '.jsonl'),
    ]);
    result.model.dispose();
    return create(LineageSchema, {
      rawTest: wireRef(rawTest),
      rowsTrain: BigInt(train.length),
      rowsTest: BigInt(test.length),
      transform: wireRef(transformRef),
      featuresTest: wireRef(featuresTest),
      featureNames: transform.outputNames,
      model: wireRef(model),
      seed: 42n,
      epochs: spec.model.epochs,
      backend: result.backend,
    });
  }

  async function events<S extends DescMessage>(def: EventDef<S>): Promise<MessageShape<S>[]> {
    const all = await readEvents(rt.nc, { stream: env.streamName, subject: `${env.subjectPrefix}.${def.name}` });
    return all.map((e) => fromBinary(def.schema, e.data));
  }

  /** Publishes model.trained and returns the evaluation, its stored report and the registry's answer. */
  async function evaluate(runId: string, lineage: Lineage, runSpec: PipelineSpec = spec) {
    const context = { runId, pipeline: spec.name, specVersion: 1, specJson: JSON.stringify(runSpec), triggerKind: 'manual', triggerReason: 'consistency test' };
    await withTransaction(rt.pool, (tx) => rt.publish(tx, EVENTS.modelTrained, { context, lineage, trainMetrics: { accuracy: 0.5 } }, { runId }));
    rt.relay.kick();
    const evaluated = await waitFor(async () => (await events(EVENTS.modelEvaluated)).find((e) => e.context?.runId === runId), { what: `model.evaluated of ${runId}` });
    const registered = await waitFor(async () => (await events(EVENTS.modelRegistered)).find((e) => e.context?.runId === runId), { what: `model.registered of ${runId}` });
    const { report } = await client.getReport({ runId });
    const json = JSON.parse(report?.reportJson ?? '{}') as { consistency: ConsistencyEvaluation | null };
    // The typed details carry the same report, consistency included.
    expectSameReport(json, report?.details ?? create(EvaluationDetailsSchema));
    return { evaluated, registered, consistency: json.consistency };
  }

  beforeAll(async () => {
    env = await createTestEnv({ name: 'evaluator-consistency' });
    registry = await startServiceProcess('registry', env.env);
    const config = loadConfig(serviceEnv(env.env, { REFIT_REGISTRY_ADDR: registry.address }));
    rt = await startTestRuntime(config, join(here, 'migrations'));
    await startEvaluatorService(rt, config);
    client = createClient(EvaluatorService, rt.server?.address ?? '');
    await initBackend({ prefer: config.tfBackend });
  }, 120_000);
  afterAll(async () => {
    client?.close();
    await rt?.close();
    await registry?.stop();
    await env?.cleanup();
  });

  it('promotes the model without gender and race, then blocks the one with them on consistency against that champion', async () => {
    const fair = await evaluate('c-1', await stored(spec.features));
    expect(fair.evaluated.verdict).toBe(Verdict.PASS);
    expect(fair.evaluated.reasons.find((r) => r.includes(': consistency '))).toMatch(/^pass: consistency 0\.8\d{3} \(labels of each of 214 test rows vs its 5 nearest neighbours, without the features of gender, race\) meets the limit 0\.7900$/);
    expect(fair.registered).toMatchObject({ version: 'v1', promoted: true });
    expect(fair.consistency).toMatchObject({ k: 5, exclude: ['gender', 'race'], dropped: [], dimensions: 17 });

    const unfair = await evaluate('c-2', await stored(withSensitive), { ...spec, features: withSensitive });
    expect(unfair.evaluated.verdict).toBe(Verdict.FAIL);
    expect(unfair.evaluated.reasons.find((r) => r.includes(': consistency '))).toMatch(/^FAIL: consistency 0\.7\d{3} \(.*\) is below the limit 0\.7900$/);
    expect(unfair.registered).toMatchObject({ version: 'v2', promoted: false });
    // The stored report: both models in the candidate's space without its 7 sensitive columns, on the same rows.
    const c = unfair.consistency;
    expect(c?.dropped).toHaveLength(7);
    expect(c?.dimensions).toBe(17);
    expect(c?.champion?.score).toBeCloseTo(fair.consistency?.candidate.score ?? Number.NaN, 12);
    expect(c?.candidate.score).toBeLessThan((c?.champion?.score ?? 0) - 0.03);
    expect(c?.candidate.groups.map((g) => `${g.sensitive}=${g.group}`).sort()).toEqual(['gender=female', 'gender=male', 'race=hispanic', 'race=other', 'race=white']);
  });
});
