import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RunStatus } from '@refit/contracts';
import { connect, waitForRun } from '@refit/cli';
import { tmpdir } from 'node:os';
import { REPO_ROOT, startStack, writeWeatherSlice, type Stack } from '@refit/stack';
import { STACK_START_S } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const id = randomBytes(3).toString('hex');
const env = { REFIT_SCHEMA_PREFIX: `fb_${id}_`, REFIT_STREAM: `FB_${id}`, REFIT_SUBJECT_PREFIX: `fb${id}`, REFIT_S3_BUCKET: `fb-${id}` };

// The example pipeline, training on every row so far and on the labels that come back as feedback.
const specYaml = readFileSync(join(REPO_ROOT, 'examples/weather-rain.yaml'), 'utf8')
  .replace('name: weather-rain', 'name: rain-feedback')
  .replace('  window: { lastBatches: 1 }', '  window: all\n  include: [feedback]');
const csv = (rows: Array<Record<string, string>>) => [Object.keys(rows[0]).join(','), ...rows.map((r) => Object.values(r).join(','))].join('\n') + '\n';

describe('feedback becomes training data (data.include: [feedback])', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env, workDir: join(REPO_ROOT, '.refit', `e2e-feedback-${id}`), startTimeoutS: STACK_START_S });
  });
  afterAll(async () => stack?.stop());

  it('labeled predictions join the next run\'s snapshot, and the retrained model is a new one', async () => {
    const c = connect(stack.env);
    await c.trigger.applyPipeline({ specYaml });
    const seattle2012 = writeWeatherSlice(join(tmpdir(), `fb-${id}-2012.csv`), 'Seattle', 2012, 2012);
    await c.ingestion.pushData([{ part: { case: 'header', value: { pipeline: 'rain-feedback', format: 'csv', filename: 'seattle-2012.csv' } } }, { part: { case: 'chunk', value: Buffer.from(csv(seattle2012)) } }]);
    const first = await waitForRun(c, (await c.trigger.triggerRun({ pipeline: 'rain-feedback', reason: 'first' })).run?.runId ?? '', { timeoutMs: 120_000 });
    expect(first).toMatchObject({ status: RunStatus.SUCCEEDED, outcome: 'promoted', modelVersion: 'v1' });

    // 2013 is served (every column but the label), and the true precipitation comes back as feedback.
    const served = writeWeatherSlice(join(tmpdir(), `fb-${id}-2013.csv`), 'Seattle', 2013, 2013);
    const rows = served.map(({ precipitation: _, ...r }) => ({ ...r, temp_max: Number(r.temp_max), temp_min: Number(r.temp_min), wind: Number(r.wind), weather: r.weather || null }));
    const answer = await c.deployer.predict({ pipeline: 'rain-feedback', rows });
    const feedback = answer.predictions.map((p, i) => ({ predictionId: p.predictionId, label: Number(served[i].precipitation) > 0 ? 1 : 0, labelValue: served[i].precipitation }));
    expect(Number((await c.deployer.sendFeedback({ pipeline: 'rain-feedback', feedback })).joined)).toBe(served.length);

    const second = await waitForRun(c, (await c.trigger.triggerRun({ pipeline: 'rain-feedback', reason: 'labels came back' })).run?.runId ?? '', { timeoutMs: 120_000 });
    expect(second.status).toBe(RunStatus.SUCCEEDED);
    // The feedback was taken in as a batch of its own, and the snapshot holds both years.
    const batches = (await c.ingestion.listBatches({ pipeline: 'rain-feedback' })).batches;
    expect(batches.map((b) => b.filename)).toEqual(['seattle-2012.csv', `feedback: ${served.length} labeled predictions`]);
    expect(batches[1]).toMatchObject({ rowsAccepted: BigInt(served.length), rowsQuarantined: 0n, format: 'jsonl' });
    const ingestion = second.stages.find((s) => s.stage === 'ingestion')?.detail ?? '';
    const sizes = /(\d+) train \/ (\d+) validation \/ (\d+) test rows/.exec(ingestion);
    expect(sizes && Number(sizes[1]) + Number(sizes[2]) + Number(sizes[3])).toBe(seattle2012.length + served.length);
    // Not the same model: the candidate trained on the new rows (an identical one is never promoted either).
    const models = (await c.registry.listModels({ pipeline: 'rain-feedback' })).models;
    const [v1, v2] = ['v1', 'v2'].map((v) => models.find((m) => m.version === v));
    expect(v2?.lineage?.model?.sha256).not.toBe(v1?.lineage?.model?.sha256);
    expect(v2?.lineage?.batchIds).toContain(batches[1].batchId);

    // A later run without new feedback takes nothing in twice (the watermark moved).
    const third = await waitForRun(c, (await c.trigger.triggerRun({ pipeline: 'rain-feedback', reason: 'nothing new' })).run?.runId ?? '', { timeoutMs: 120_000 });
    expect(third.status).toBe(RunStatus.SUCCEEDED);
    expect((await c.ingestion.listBatches({ pipeline: 'rain-feedback' })).batches).toHaveLength(2);
  });
});
