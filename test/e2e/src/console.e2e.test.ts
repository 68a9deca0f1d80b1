import { execFileSync } from 'node:child_process';
import { createPrivateKey, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { connect, dataPush, waitForRun, type Clients } from '@refit/cli';
import { RunStatus, type Run } from '@refit/contracts';
import { issueToken, type Role } from '@refit/platform';
import { REPO_ROOT, startStack, stopStackAndClean, writeWeatherSlice, type Stack } from '@refit/stack';
import { type ConsoleProcess, launchBrowser, STACK_START_S, startConsoleProcess } from '@refit/testing';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WIDTHS, chartData, drawnPixels, markerOf, screenshot, setMarker, submitForm, texts, waitForText } from './console-page.js';

// Its own namespace on the real Postgres, NATS and S3; the seven services as processes with TLS
// and tokens on. A fast rollout tick so that a canary step moves as soon as its labels are in.
const id = randomBytes(3).toString('hex');
const env = { REFIT_SCHEMA_PREFIX: `ui_${id}_`, REFIT_STREAM: `UI_${id}`, REFIT_SUBJECT_PREFIX: `ui${id}`, REFIT_S3_BUCKET: `ui-${id}`, REFIT_ACK_WAIT_MS: '3000', REFIT_ROLLOUT_TICK_MS: '200' };
const PIPELINE = 'weather-rain';
const CANARY = 'rain-canary';
const STAGES = ['ingestion', 'feature', 'trainer', 'evaluator', 'registry', 'deployer'];
const quiet = { json: true, progress: false, out: () => undefined, err: () => undefined };
const spec = readFileSync(join(REPO_ROOT, 'examples/weather-rain.yaml'), 'utf8');
// The canary pipeline's second model goes out in two steps, judged on 20 labeled rows a side; an
// inconclusive step passes after about a second, so the step moves as soon as the labels are in.
const workDir = join(REPO_ROOT, '.refit', `e2e-console-${id}`);
const canaryRollout = 'rollout: { strategy: canary, steps: [50, 100], minLabeled: 20, metric: accuracy, margin: 0.2, holdMinutes: 0.02, onInconclusive: promote }';

describe('the web console in a real Chromium, after the demo loop', () => {
  let stack: Stack;
  let c: Clients;
  let web: ConsoleProcess;
  let browser: Browser;
  let admin: BrowserContext;
  let viewer: BrowserContext;
  const runs: Run[] = [];
  let canaryRun: Run;
  const dir = mkdtempSync(join(tmpdir(), 'refit-console-e2e-'));

  /** Pushes a slice of the weather data, triggers a run and waits for it (or, with `rollout`, until its canary is active). */
  async function cycle(pipeline: string, location: string, years: [number, number], reason: string, rollout = false): Promise<Run> {
    const file = join(dir, `${pipeline}-${location.replace(' ', '-')}-${years[0]}.csv`);
    writeWeatherSlice(file, location, ...years);
    await dataPush(c, quiet, pipeline, file);
    const runId = (await c.trigger.triggerRun({ pipeline, reason })).run?.runId ?? '';
    if (!rollout) return waitForRun(c, runId, { timeoutMs: 120_000 });
    for (;;) {
      const r = await c.deployer.getRollout({ pipeline }).catch(() => undefined);
      if (r?.rollout?.status === 'active' && r.rollout.runId === runId) return (await c.trigger.getRun({ runId })).run!;
      const run = (await c.trigger.getRun({ runId })).run!;
      if (run.status !== RunStatus.RUNNING) throw new Error(`run ${runId} ended before its canary: ${run.failedStage} ${run.failureReason}`);
      await new Promise((next) => setTimeout(next, 200));
    }
  }

  /** A browser context signed in as a person with `roles` (the console's session cookie). */
  async function signedIn(name: string, roles: Role[]): Promise<BrowserContext> {
    const issuer = createPrivateKey(readFileSync(join(stack.credentials.dir, 'tokens', 'issuer.key')));
    const token = await issueToken({ privateKey: issuer, name, roles, ttlSeconds: 3600 });
    const context = await browser.newContext({ viewport: { width: WIDTHS.laptop, height: 900 } });
    await context.addCookies([{ name: 'refit_token', value: token, url: web.url }]);
    return context;
  }

  async function open(context: BrowserContext, path: string): Promise<Page> {
    const page = await context.newPage();
    const response = await page.goto(`${web.url}${path}`);
    expect(response?.status(), `${path}: ${(await page.textContent('main'))?.slice(0, 300)}`).toBe(200);
    return page;
  }

  beforeAll(async () => {
    // A generous start-up limit: on a busy 2-core machine seven Node processes take a while to serve.
    stack = await startStack({ env, workDir, startTimeoutS: STACK_START_S });
    c = connect(stack.env);
    await c.trigger.applyPipeline({ specYaml: spec });
    await c.trigger.applyPipeline({ specYaml: spec.replace(`name: ${PIPELINE}`, `name: ${CANARY}`) });
    // The demo loop on weather-rain (Seattle, then the New York shift, promoted), next to the
    // canary pipeline's first champion; then the canary's second model goes out at 50 %.
    const demo = async () => {
      runs.push(await cycle(PIPELINE, 'Seattle', [2012, 2013], 'first model for the pipeline'));
      runs.push(await cycle(PIPELINE, 'New York', [2012, 2014], 'data moved to New York'));
    };
    const canary = async () => {
      await cycle(CANARY, 'Seattle', [2012, 2013], 'first model');
      await c.trigger.applyPipeline({ specYaml: `${spec.replace(`name: ${PIPELINE}`, `name: ${CANARY}`)}\n${canaryRollout}\n` });
      canaryRun = await cycle(CANARY, 'New York', [2012, 2014], 'canary of the New York model', true);
    };
    await Promise.all([demo(), canary()]);
    // The console as its own process, as `npm run console` runs it against the stack.
    [web, browser] = await Promise.all([startConsoleProcess(stack.env), launchBrowser()]);
    [admin, viewer] = await Promise.all([signedIn('ada', ['admin']), signedIn('vic', ['viewer'])]);
  }, 400_000);

  afterAll(async () => {
    await browser?.close();
    await web?.stop();
    if (!stack) return;
    await stopStackAndClean(stack, env, workDir);
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows v2 as champion on the pipelines and pipeline pages', async () => {
    expect(runs.map((r) => [r.status, r.outcome, r.modelVersion])).toEqual([
      [RunStatus.SUCCEEDED, 'promoted', 'v1'],
      [RunStatus.SUCCEEDED, 'promoted', 'v2'],
    ]);
    const home = await open(admin, '/');
    expect(await home.locator(`[data-testid="pipeline-${PIPELINE}"] [data-testid="champion"]`).textContent()).toBe('v2');
    await screenshot(home, 'pipelines', WIDTHS.laptop);
    await screenshot(home, 'pipelines', WIDTHS.phone);
    const page = await open(admin, `/pipelines/${PIPELINE}`);
    expect(await page.locator('[data-testid="champion"]').textContent()).toBe('v2');
    expect(await page.locator('[data-testid="run-row"]').count()).toBe(2);
    await screenshot(page, 'pipeline', WIDTHS.laptop);
    await screenshot(page, 'pipeline', WIDTHS.phone);
  });

  it("shows the second run: six stages, both models' ROC curves drawn from their data, every gate sentence", async () => {
    const run = runs[1];
    const page = await open(admin, `/runs/${run.runId}`);
    for (const s of STAGES) expect(await page.locator(`[data-testid="stage-${s}"]`).textContent()).toMatch(new RegExp(`^${s}\\s+done · `));

    // The same sentences the trigger service (the decision) and the evaluator (its gates) return over gRPC.
    const { report } = await c.evaluator.getReport({ runId: run.runId });
    expect(run.decisionReasons.length).toBeGreaterThanOrEqual(2);
    expect(await texts(page, 'gate-sentence', '[data-live="decision"]')).toEqual(run.decisionReasons);
    expect(await texts(page, 'gate-sentence', '[data-testid="evaluation"]')).toEqual(report?.reasons);

    // The chart's data is the report's ROC curves of both models (plus the diagonal), and uPlot drew both lines.
    const curves = (JSON.parse(report?.reportJson ?? '{}') as { curves: Record<'candidate' | 'champion', { roc: { fpr: number[]; tpr: number[] } }> }).curves;
    const roc = await chartData(page, 'roc-chart');
    expect(roc.series.map((s) => s.label)).toEqual(['candidate', 'champion v1', 'chance']);
    expect(roc.series[0]).toMatchObject({ x: curves.candidate.roc.fpr, y: curves.candidate.roc.tpr });
    expect(roc.series[1]).toMatchObject({ x: curves.champion.roc.fpr, y: curves.champion.roc.tpr });
    expect(roc.series[0].x.length).toBeGreaterThan(10);
    const drawn = await drawnPixels(page, 'roc-chart');
    expect(drawn.legend).toEqual(expect.arrayContaining(['candidate', 'champion v1']));
    expect(drawn.first, 'candidate line pixels').toBeGreaterThan(100);
    expect(drawn.second, 'champion line pixels').toBeGreaterThan(100);
    expect(await page.locator('[data-testid="decision"]').textContent()).toMatch(/^promoted as v2 \(champion was v1\)/);
    await screenshot(page, 'run', WIDTHS.laptop);
    await screenshot(page, 'run', WIDTHS.phone);
  });

  it('shows the New York shift on the drift page: wind and temp_min drifted, with PSI and drawn histograms', async () => {
    const page = await open(admin, `/pipelines/${PIPELINE}/drift?source=training`);
    const report = page.locator('[data-testid="drift-report"]', { hasText: runs[1].runId }).first();
    expect(await report.textContent()).toContain(`against run ${runs[0].runId}`);
    for (const feature of ['wind', 'temp_min']) {
      const column = report.locator('[data-testid="drift-column"]', { has: page.locator('h3', { hasText: new RegExp(`^${feature}\\b`) }) });
      expect(await column.count()).toBe(1);
      expect(await column.locator('h3 .badge').textContent(), `${feature} drifted`).toBe('drift');
      expect(Number(await column.locator('[data-testid="psi"]').textContent())).toBeGreaterThan(0.25);
      const chart = await chartData(page, `drift-chart-${feature}`);
      expect(chart.series.map((s) => s.label)).toEqual(['reference', 'current']);
      const drawn = await drawnPixels(page, `drift-chart-${feature}`);
      expect(drawn.first, `${feature} reference`).toBeGreaterThan(20);
      expect(drawn.second, `${feature} current`).toBeGreaterThan(20);
    }
    await screenshot(page, 'drift', WIDTHS.laptop);
    await screenshot(page, 'drift', WIDTHS.phone);
  });

  it('shows a viewer no promote button, and the forged POST of one is refused by the service', async () => {
    const own = await open(admin, `/pipelines/${CANARY}/rollout`);
    expect(await own.locator('[data-testid="promote-button"]').count()).toBe(1);
    await own.close();
    const page = await open(viewer, `/pipelines/${CANARY}/rollout`);
    expect(await page.locator('[data-testid="viewer"]').textContent()).toContain('vic (viewer)');
    expect(await page.locator('[data-testid="rollout-status"]').textContent()).toBe('active');
    expect(await page.locator('[data-testid="promote-button"]').count()).toBe(0);
    // The viewer's own browser posts the promote form anyway (same origin, with its cookie).
    const answer = page.waitForResponse((r) => r.url().endsWith(`/pipelines/${CANARY}/rollout/promote`));
    await submitForm(page, `/pipelines/${CANARY}/rollout/promote`, { reason: 'forged' });
    expect((await answer).status()).toBe(403);
    await page.locator('main', { hasText: 'needs the admin role' }).waitFor({ timeout: 10_000 }).catch(async (e: unknown) => {
      throw new Error(`the refusal page says: ${await page.locator('main').textContent()}`, { cause: e });
    });
    expect(await page.locator('main').textContent()).toMatch(/'vic' \(roles: viewer\) may not call .*PromoteRollout/);
    expect((await c.deployer.getRollout({ pipeline: CANARY })).rollout).toMatchObject({ status: 'active', runId: canaryRun.runId });
  });

  it("updates the canary's weight without a reload when its step passes on live feedback", async () => {
    const page = await open(admin, `/pipelines/${CANARY}/rollout`);
    expect(await page.locator('[data-testid="rollout-weight"]').textContent()).toBe('50%');
    await screenshot(page, 'rollout', WIDTHS.laptop);
    await screenshot(page, 'rollout', WIDTHS.phone);
    await page.setViewportSize({ width: WIDTHS.laptop, height: 900 });
    let navigations = 0;
    page.on('framenavigated', (f) => void (f === page.mainFrame() && navigations++));
    await setMarker(page, 'still here');

    // New York 2015 (neither model trained on it), served and labeled.
    const days = writeWeatherSlice(join(dir, 'ny-2015.csv'), 'New York', 2015, 2015);
    const served = await c.deployer.predict({ pipeline: CANARY, rows: days.map((d) => ({ temp_max: Number(d.temp_max), temp_min: Number(d.temp_min), wind: Number(d.wind) })) });
    expect(served.predictions.filter((p) => p.variant !== 'champion').length).toBeGreaterThan(20);
    const feedback = served.predictions.map((p, i) => ({ predictionId: p.predictionId, label: Number(days[i].precipitation) > 0 ? 1 : 0 }));
    expect(Number((await c.deployer.sendFeedback({ pipeline: CANARY, feedback })).joined)).toBe(days.length);

    await waitForText(page, 'rollout-weight', '100%', 60_000);
    expect(await markerOf(page)).toBe('still here');
    expect(navigations).toBe(0);
    expect(await page.locator('[data-live="rollout"]').textContent()).toContain('step 2 of 2, candidate weight 100%');
    await screenshot(page, 'rollout-moved', WIDTHS.laptop);

    // The admin's own form (same origin, cookie, required reason) reaches the service.
    await page.locator('form:has([data-testid="promote-button"]) input[name="reason"]').fill('looks good in the browser test');
    await Promise.all([page.waitForURL(`**/pipelines/${CANARY}/rollout`), page.locator('[data-testid="promote-button"]').click()]);
    expect(await page.locator('[data-testid="rollout-status"]').textContent()).toBe('promoted');
  });

  it('shows the models and the ledger, verified', async () => {
    const page = await open(admin, `/pipelines/${PIPELINE}/models?verify=1`);
    expect(await page.locator('[data-testid="version-row"]').count()).toBe(2);
    expect(await page.locator('[data-testid="verify-result"]').textContent()).toMatch(/^verified/);
    await screenshot(page, 'models', WIDTHS.laptop);
    await screenshot(page, 'models', WIDTHS.phone);
  });

  it("`refit report` writes a file that opens with the network off and draws the run's plots", async () => {
    const out = join(dir, 'report.html');
    execFileSync(join(REPO_ROOT, 'node_modules/.bin/refit'), ['report', runs[1].runId, '-o', out], { env: { ...process.env, ...stack.env }, encoding: 'utf8' });
    const context = await browser.newContext({ offline: true, viewport: { width: WIDTHS.laptop, height: 900 } });
    const attempts: string[] = [];
    const file = pathToFileURL(out).href;
    // Every request but the file itself is counted and refused.
    await context.route('**/*', (route) => {
      if (route.request().url() === file) return route.continue();
      attempts.push(route.request().url());
      return route.abort();
    });
    const page = await context.newPage();
    await page.goto(file);
    const roc = await drawnPixels(page, 'roc-chart');
    expect(roc.first).toBeGreaterThan(100);
    expect(roc.second).toBeGreaterThan(100);
    expect((await drawnPixels(page, 'drift-chart-wind')).second).toBeGreaterThan(20);
    expect(await texts(page, 'gate-sentence', '[data-testid="decision"] + ul')).toEqual(runs[1].decisionReasons);
    await screenshot(page, 'report', WIDTHS.laptop);
    expect(attempts).toEqual([]);
    await context.close();
  });
});
