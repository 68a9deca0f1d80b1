import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { timestampDate } from '@bufbuild/protobuf/wkt';
import { connect } from '@refit/cli';
import { REPO_ROOT, startStack, stopStackAndClean, type Stack } from '@refit/stack';
import { STACK_START_S, weatherCsvPath } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Its own namespace on the real Postgres, NATS and S3; the seven services as processes with TLS and
// tokens on. A fast rollout tick so that the canary's analysis counts the labels at once.
const id = randomBytes(3).toString('hex');
const env = { REFIT_SCHEMA_PREFIX: `py_${id}_`, REFIT_STREAM: `PY_${id}`, REFIT_SUBJECT_PREFIX: `py${id}`, REFIT_S3_BUCKET: `py-${id}`, REFIT_ACK_WAIT_MS: '3000', REFIT_ROLLOUT_TICK_MS: '200' };
const workDir = join(REPO_ROOT, '.refit', `e2e-python-${id}`);
const PIPELINE = 'rain-python';
// Debian's python3-grpcio and python3-protobuf are installed for Debian's interpreter (.ci/run), which
// a python3 earlier on the PATH (pyenv, a venv) may not see.
const python = process.env.REFIT_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');

type Run = { code: number | null; output: string };

/** Runs a command to its end, its stdout and stderr together (pytest's report). */
function run(cmd: string, args: string[], opts: { env: NodeJS.ProcessEnv; timeoutMs: number }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: REPO_ROOT, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** A drift report as the Python client typed it (dataclasses.asdict). */
type PyDrift = {
  pipeline: string;
  run_id: string;
  reference_run_id: string;
  status: string;
  share: number;
  source: string;
  version: string;
  window_end: string | null;
  columns: Array<{ column: string; test: string; statistic: number; p_value: number | null; psi: number | null; status: string; reference_size: number; current_size: number; histogram: { edges: number[]; categories: string[]; reference: number[]; current: number[] } | null }>;
};

describe('the Python client (clients/python) against the real stack', () => {
  let stack: Stack;
  const dir = mkdtempSync(join(tmpdir(), 'refit-python-e2e-'));

  beforeAll(async () => {
    stack = await startStack({ env, workDir, startTimeoutS: STACK_START_S });
  });

  afterAll(async () => {
    if (!stack) return;
    await stopStackAndClean(stack, env, workDir);
    rmSync(dir, { recursive: true, force: true });
  });

  it('pushes, triggers, waits, reads typed reports, rollouts, stats and decisions equal to the CLI\'s, predicts 1,000 rows and sends their feedback (pytest)', async () => {
    const driftOut = join(dir, 'drift.json');
    const rolloutOut = join(dir, 'rollout.json');
    const pytest = await run(python, ['-m', 'pytest', 'clients/python/tests', '-v', '-rfEs', '--color=no'], {
      env: { ...stack.env, REFIT_PY_PIPELINE: PIPELINE, REFIT_PY_DRIFT_OUT: driftOut, REFIT_PY_ROLLOUT_OUT: rolloutOut, REFIT_WEATHER_CSV: weatherCsvPath(), REFIT_NODE: process.execPath, PYTHONDONTWRITEBYTECODE: '1' },
      timeoutMs: 600_000,
    });
    if (pytest.code !== 0) throw new Error(`pytest exited with ${pytest.code}:\n${pytest.output}`);
    // Plain text whatever the environment asks for (FORCE_COLOR, PY_COLORS): the summary is parsed.
    const plain = pytest.output.replace(/\u001b\[[0-9;]*m/g, '').trim();
    const summary = /=+ (.*) in [\d.]+s/.exec(plain.split('\n').at(-1) ?? '')?.[1] ?? '';
    // Every test ran against the stack: none skipped for want of it.
    expect(summary).toMatch(/^\d+ passed$/);
    expect(Number(summary.split(' ')[0])).toBeGreaterThanOrEqual(16);

    // The ended rollout as the Python client typed it is what `refit rollout status --json` shows:
    // the typed analyses (not their JSON copies), field by field.
    const cli = await run(process.execPath, [join(REPO_ROOT, 'cli/bin/refit.js'), 'rollout', 'status', PIPELINE, '--json'], { env: stack.env, timeoutMs: 120_000 });
    expect(cli.code, cli.output).toBe(0);
    const shown = JSON.parse(cli.output.slice(cli.output.indexOf('{'))) as { lastAnalysisJson?: string; lastAnalysis?: unknown; history: Array<{ analysisJson?: string; analysis?: unknown }> };
    const pyRollout = JSON.parse(readFileSync(rolloutOut, 'utf8')) as { status: string; lastAnalysis: { nCandidate: string } | null };
    expect(pyRollout).toMatchObject({ status: 'promoted' });
    const { lastAnalysisJson: _json, ...typed } = shown;
    expect(pyRollout).toEqual({ ...typed, lastAnalysis: typed.lastAnalysis ?? null, history: typed.history.map(({ analysisJson: _j, ...h }) => ({ ...h, analysis: h.analysis ?? null })) });
    expect(Number(pyRollout.lastAnalysis?.nCandidate)).toBeGreaterThan(0);

    // The drift report the Python client typed is the one the TypeScript client reads.
    const py = JSON.parse(readFileSync(driftOut, 'utf8')) as PyDrift[];
    expect(py).toHaveLength(1);
    const c = connect(stack.env);
    const ts = (await c.feature.listDrift({ pipeline: PIPELINE, source: 'training' })).reports.find((r) => r.runId === py[0].run_id);
    expect(ts).toBeDefined();
    expect({ pipeline: py[0].pipeline, runId: py[0].run_id, referenceRunId: py[0].reference_run_id, status: py[0].status, share: py[0].share, source: py[0].source, version: py[0].version, windowEnd: py[0].window_end }).toEqual({
      pipeline: ts?.pipeline,
      runId: ts?.runId,
      referenceRunId: ts?.referenceRunId,
      status: ts?.status,
      share: ts?.share,
      source: ts?.source || 'training',
      version: ts?.version,
      windowEnd: ts?.windowEnd ? timestampDate(ts.windowEnd).toISOString() : null,
    });
    expect(py[0].columns).toEqual(
      ts?.columns.map((col) => ({
        column: col.column,
        test: col.test,
        statistic: col.statistic,
        p_value: col.pValue ?? null,
        psi: col.psi ?? null,
        status: col.status,
        reference_size: Number(col.referenceSize),
        current_size: Number(col.currentSize),
        histogram: col.histogram ? { edges: col.histogram.edges, categories: col.histogram.categories, reference: col.histogram.reference, current: col.histogram.current } : null,
      })),
    );
  });
});
