import { execFileSync } from 'node:child_process';
import { createPrivateKey, randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeployerService, IngestionService, RunStatus, TriggerService, type Run } from '@refit/contracts';
import { channelCredentials, createClient, issueToken, type Role } from '@refit/platform';
import { DEFAULT_NATS_URL, DEFAULT_PG_URL, REPO_ROOT, resetNamespace, startStack, writeWeatherSlice, type Stack } from '@refit/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConsole, type RunningConsole } from './index.js';

// Its own namespace on the real Postgres, NATS and S3; the seven services as processes with TLS
// and tokens on, as in production, so the console's forwarding of each person's token is tested.
const id = randomBytes(3).toString('hex');
const env = { REFIT_SCHEMA_PREFIX: `con_${id}_`, REFIT_STREAM: `CON_${id}`, REFIT_SUBJECT_PREFIX: `con${id}`, REFIT_S3_BUCKET: `con-${id}`, REFIT_ACK_WAIT_MS: '3000' };
const PIPELINE = 'weather-rain';

describe('the console against the real services', () => {
  let stack: Stack;
  let console_: RunningConsole;
  let first: Run;
  let run: Run;
  let admin: string;
  let viewer: string;

  const get = (path: string, token?: string) => fetch(`${console_.url}${path}`, { redirect: 'manual', headers: token ? { authorization: `Bearer ${token}` } : {} });
  const post = (path: string, form: Record<string, string>, headers: Record<string, string>) =>
    fetch(`${console_.url}${path}`, { method: 'POST', redirect: 'manual', body: new URLSearchParams(form).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } });
  const page = async (path: string, token = admin): Promise<string> => {
    const r = await get(path, token);
    const body = await r.text();
    expect(r.status, `${path}: ${body.slice(0, 500)}`).toBe(200);
    return body;
  };

  beforeAll(async () => {
    // A busy machine (several stacks at once) can take more than the default 60 s to start seven services.
    stack = await startStack({ env, workDir: join(REPO_ROOT, '.refit', `console-${id}`), startTimeoutS: 150 });
    const issuer = createPrivateKey(readFileSync(join(stack.credentials.dir, 'tokens', 'issuer.key')));
    const token = (name: string, roles: Role[]) => issueToken({ privateKey: issuer, name, roles, ttlSeconds: 3600 });
    admin = await token('ada', ['admin']);
    viewer = await token('vic', ['viewer']);
    const credentials = channelCredentials({ ca: readFileSync(stack.env.REFIT_TLS_CA), token: admin });
    const trigger = createClient(TriggerService, stack.addresses.trigger, { credentials });
    const ingestion = createClient(IngestionService, stack.addresses.ingestion, { credentials });
    const deployer = createClient(DeployerService, stack.addresses.deployer, { credentials });
    try {
      // Two runs, as in the demo: Seattle, then New York (a location shift the drift page must
      // show). The second candidate goes out as a canary, which the tests promote through the console.
      const dir = mkdtempSync(join(tmpdir(), 'refit-console-'));
      const cycle = async (location: string, years: [number, number], reason: string): Promise<Run> => {
        const file = join(dir, `${location}.csv`);
        writeWeatherSlice(file, location, ...years);
        await ingestion.pushData(
          (async function* () {
            yield { part: { case: 'header' as const, value: { pipeline: PIPELINE, format: 'csv', filename: file } } };
            for await (const chunk of createReadStream(file)) yield { part: { case: 'chunk' as const, value: chunk as Buffer } };
          })(),
        );
        const started = await trigger.triggerRun({ pipeline: PIPELINE, reason });
        const runId = started.run?.runId ?? '';
        const deadline = Date.now() + 240_000;
        let r: Run;
        for (;;) {
          await new Promise((done) => setTimeout(done, 500));
          r = (await trigger.getRun({ runId })).run!;
          if (r.status !== RunStatus.RUNNING || Date.now() > deadline) return r;
          const rollout = await deployer.getRollout({ pipeline: PIPELINE }).catch(() => undefined);
          if (rollout?.rollout?.status === 'active' && rollout.rollout.runId === runId) return r;
        }
      };
      const spec = readFileSync(join(REPO_ROOT, 'examples/weather-rain.yaml'), 'utf8');
      await trigger.applyPipeline({ specYaml: spec });
      first = await cycle('Seattle', [2012, 2013], 'console test <b>first</b>');
      await trigger.applyPipeline({ specYaml: `${spec}\nrollout: { strategy: canary, steps: [10, 50, 100], minLabeled: 200 }\n` });
      run = await cycle('New York', [2012, 2014], 'data moved to New York');
    } finally {
      trigger.close();
      ingestion.close();
      deployer.close();
    }
    console_ = await startConsole({ env: stack.env, config: { port: 0, logLevel: 'warn' } });
  }, 300_000);

  afterAll(async () => {
    await console_?.close();
    const e: Record<string, string | undefined> = stack?.env ?? process.env;
    await stack?.stop();
    // Leave no schemas or stream behind on the shared servers (also when the stack failed to start).
    await resetNamespace({ pgUrl: e.REFIT_PG_URL ?? DEFAULT_PG_URL, schemaPrefix: env.REFIT_SCHEMA_PREFIX, natsUrl: e.REFIT_NATS_URL ?? DEFAULT_NATS_URL, stream: env.REFIT_STREAM, natsUser: e.REFIT_NATS_USER, natsPassword: e.REFIT_NATS_PASSWORD }).catch(() => undefined);
  });

  it('sends a person without a credential to sign in, and signs in with a token into an HttpOnly, SameSite=Strict cookie', async () => {
    const r = await get('/');
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe('/login');
    const login = await post('/login', { token: viewer }, { origin: console_.url });
    expect(login.status).toBe(303);
    expect(login.headers.get('set-cookie')).toMatch(/^refit_token=.+; Path=\/; HttpOnly; SameSite=Strict/);
    const bad = await post('/login', { token: 'nonsense' }, { origin: console_.url });
    expect(bad.status).toBe(400);
  });

  it('shows the canary with its weight and promote/abort for an admin; a viewer sees no button and the service refuses its POST', async () => {
    const body = await page(`/pipelines/${PIPELINE}/rollout`);
    expect(body).toMatch(/data-testid="rollout-weight">10%</);
    expect(body).toContain('data-testid="promote-button"');
    expect(body).toContain('data-testid="abort-button"');
    expect(body).toContain(`data-poll="/api/pipelines/${PIPELINE}/rollout"`);
    const live = (await (await get(`/api/pipelines/${PIPELINE}/rollout`, admin)).json()) as { fragments: Record<string, string> };
    expect(live.fragments.rollout).toContain('data-testid="rollout-weight"');
    const cookie = `refit_token=${viewer}`;
    expect(await (await fetch(`${console_.url}/pipelines/${PIPELINE}/rollout`, { headers: { cookie } })).text()).not.toContain('promote-button');
    const refused = await post(`/pipelines/${PIPELINE}/rollout/promote`, { reason: 'try' }, { cookie, origin: console_.url });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('needs the admin role');
  });

  it('promotes the canary for an admin, with the reason, and the run completes with v2 as champion', async () => {
    const r = await post(`/pipelines/${PIPELINE}/rollout/promote`, { reason: 'looks good on the console' }, { cookie: `refit_token=${admin}`, origin: console_.url });
    expect(r.status).toBe(303);
    expect(await page(`/pipelines/${PIPELINE}/rollout`)).toMatch(/data-testid="rollout-status">promoted</);
    // The run ends once the promoted model serves; its live JSON says when.
    const deadline = Date.now() + 60_000;
    let done = false;
    while (!done && Date.now() < deadline) {
      await new Promise((wait) => setTimeout(wait, 500));
      done = ((await (await get(`/api/runs/${run.runId}`, admin)).json()) as { done: boolean }).done;
    }
    expect(done).toBe(true);
    expect(await page(`/runs/${run.runId}`)).toMatch(/data-testid="decision"><strong>promoted<\/strong> as v2/);
  }, 90_000);

  it('shows the pipelines with their champion, triggers and a trigger button for an admin only, under a nonce CSP', async () => {
    expect(first.status).toBe(RunStatus.SUCCEEDED);
    const r = await get('/', admin);
    const body = await r.text();
    expect(r.headers.get('content-security-policy')).toMatch(/script-src 'self' 'nonce-[^']+'/);
    expect(body).toContain(`data-testid="pipeline-${PIPELINE}"`);
    expect(body).toMatch(/data-testid="champion"[^>]*>v2</);
    expect(body).toContain('data-testid="trigger-button"');
    expect(await page('/', viewer)).not.toContain('data-testid="trigger-button"');
  });

  it('shows a pipeline with its runs, fast, and refuses out-of-range input with a clear page', async () => {
    const started = Date.now();
    const body = await page(`/pipelines/${PIPELINE}?limit=20`);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(body).toContain(run.runId);
    expect(body).toContain('data-testid="run-row"');
    expect(body).toContain('data-testid="batches"');
    const tooMany = await get(`/pipelines/${PIPELINE}?limit=100000`, admin);
    expect(tooMany.status).toBe(400);
    expect(await tooMany.text()).toContain('give a whole number from 1 to 500');
    expect((await get('/pipelines/No%20Such!', admin)).status).toBe(400);
    expect((await get('/pipelines/no-such-pipeline', admin)).status).toBe(404);
  });

  it('shows a run: six stages, why it started, every gate sentence, the evaluation and the decision', async () => {
    const body = await page(`/runs/${run.runId}`);
    for (const s of ['ingestion', 'feature', 'trainer', 'evaluator', 'registry', 'deployer']) expect(body).toContain(`data-testid="stage-${s}"`);
    expect(await page(`/runs/${first.runId}`)).toContain('console test &lt;b&gt;first&lt;/b&gt;');
    expect((body.match(/data-testid="gate-sentence"/g) ?? []).length).toBeGreaterThanOrEqual(run.decisionReasons.length * 2);
    expect(body).toMatch(/data-testid="verdict">pass</);
    // The candidate against champion v1 on the same rows, with both models' curves.
    expect(body).toContain('champion v1');
    for (const chart of ['roc-chart', 'pr-chart', 'calibration-chart']) expect(body).toContain(`data-testid="${chart}"`);
    const live = (await (await get(`/api/runs/${run.runId}`, admin)).json()) as { fragments: Record<string, string>; done: boolean };
    expect(live.done).toBe(true);
    expect(live.fragments.stages).toContain('data-testid="stage-deployer"');
  });

  it('shows models with the ledger, verifies it, and shows rollout and drift pages', async () => {
    const models = await page(`/pipelines/${PIPELINE}/models?verify=1`);
    expect(models).toContain('data-testid="version-row"');
    expect(models).toMatch(/data-testid="verify-result" class="ok">verified/);
    // The New York shift: the second run's training data against the first's, per feature with its histogram.
    const drift = await page(`/pipelines/${PIPELINE}/drift?source=training`);
    expect(drift).toContain('data-testid="drift-report"');
    for (const feature of ['wind', 'temp_min']) expect(drift).toContain(`data-testid="drift-chart-${feature}"`);
    expect(drift).toMatch(/data-testid="psi">\d\.\d{3}</);
  });

  it('refuses a POST without a matching Origin, and one without a reason', async () => {
    const cookie = `refit_token=${admin}`;
    const forged = await post(`/pipelines/${PIPELINE}/trigger`, { reason: 'csrf' }, { cookie, origin: 'https://evil.example' });
    expect(forged.status).toBe(403);
    expect(await forged.text()).toContain('must be sent from the console');
    expect((await post(`/pipelines/${PIPELINE}/trigger`, { reason: 'csrf' }, { cookie })).status).toBe(403);
    expect((await post(`/pipelines/${PIPELINE}/trigger`, { reason: '' }, { cookie, origin: console_.url })).status).toBe(400);
  });

  it('triggers a run for an admin with a reason and lands on its page', async () => {
    const r = await post(`/pipelines/${PIPELINE}/trigger`, { reason: 'from the console' }, { cookie: `refit_token=${admin}`, origin: console_.url });
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toMatch(/^\/runs\//);
  });

  it("writes the run's self-contained HTML report with `refit report` (no web address in it)", () => {
    const out = join(mkdtempSync(join(tmpdir(), 'refit-report-')), 'report.html');
    execFileSync(join(REPO_ROOT, 'node_modules/.bin/refit'), ['report', run.runId, '-o', out], { env: { ...process.env, ...stack.env }, encoding: 'utf8' });
    const html = readFileSync(out, 'utf8');
    expect(html).not.toMatch(/https?:\/\//i);
    expect(html).toContain('var uPlot=');
    expect(html).toContain('data-testid="gate-sentence"');
    expect(html).toContain('data-testid="decision"');
    expect(html).toContain('data-testid="drift-chart-wind"');
    expect(html).toContain('data-testid="roc-chart"');
  });
});
