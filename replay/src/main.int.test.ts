import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { specYaml, weather } from './weather.fixtures.js';

const main = fileURLToPath(new URL('./main.ts', import.meta.url));
const repo = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

/** The replay program as a process (as `refit replay` runs it): stdout, stderr and exit code. */
async function replay(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const r = await run(process.execPath, ['--conditions=@refit/source', '--import', 'tsx', '--no-warnings', main, ...args], { cwd: repo, maxBuffer: 64 << 20 });
    return { ...r, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

describe('refit replay, the program', () => {
  let dir: string;
  const file = (name: string) => join(dir, name);
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'refit-replay-'));
    // Half a year of Seattle as the bootstrap, then 14 weeks replayed; a small, quick model.
    const w = weather('seattle.csv', { location: 'Seattle', from: '2012-01-01', until: '2012-10-01' });
    writeFileSync(file('seattle.csv'), w.text);
    const weekly = { triggers: ['{ kind: schedule, cron: "0 3 * * 1" }'], epochs: 5, learningRate: 0.3 };
    writeFileSync(file('weekly.yaml'), specYaml(weekly));
    writeFileSync(file('manual.yaml'), specYaml({ ...weekly, triggers: [] }));
    const rollout = 'rollout: { strategy: canary, steps: [50, 100], minLabeled: 10, holdMinutes: 20160, onInconclusive: promote }';
    writeFileSync(file('canary.yaml'), specYaml({ ...weekly, gates: 'gates:\n  floors: { accuracy: 0.55 }\n  champion: { metric: auc, margin: 0.2 }', tail: rollout }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints both policies\' tables and their summaries side by side, which differ as the policies do', async () => {
    const r = await replay([file('weekly.yaml'), file('manual.yaml'), '--data', file('seattle.csv'), '--bootstrap', '182d']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`weather-rain (${file('weekly.yaml')}): bootstrap 2012-01-01 – 2012-06-30, 182 rows → v1 pass`);
    expect(r.stdout).toContain(`weather-rain (${file('manual.yaml')}): bootstrap 2012-01-01 – 2012-06-30, 182 rows → v1 pass`);
    expect(r.stdout.match(/^period +rows +served by +accuracy +log loss +auc +triggers fired +trained +promoted +rolled back +notes$/gm)).toHaveLength(2);
    expect(r.stdout.match(/^2012-08-05 +7 +v\d+ /gm)).toHaveLength(2);
    const side = r.stdout.slice(r.stdout.indexOf('side by side:'));
    const row = (name: string) => (new RegExp(`^${name} +(\\S+) +(\\S+)$`, 'm').exec(side) ?? []).slice(1);
    // The schedule trains every Monday of the 14 weeks and its first model; the manual spec only its first model.
    expect(row('trainings')).toEqual(['15', '1']);
    expect(row('triggers fired')).toEqual(['15', '1']);
    expect(row('champion at the end')[1]).toBe('v1');
    expect(row('served accuracy')).toHaveLength(2);
    expect(r.stdout.match(/^summary: served quality \(weighted by rows\)/gm)).toHaveLength(2);
  }, 120_000);

  it('gives the same JSON for the same inputs, a canary rollout included', async () => {
    const args = [file('canary.yaml'), '--data', file('seattle.csv'), '--bootstrap', '182d', '--json'];
    const [a, b] = [await replay(args), await replay(args)];
    expect(a.code).toBe(0);
    expect(b.stdout).toBe(a.stdout);
    const json = JSON.parse(a.stdout) as { results: Array<{ periods: Array<{ servedBy: Record<string, number> }>; summary: { trainings: number } }> };
    expect(json.results[0].summary.trainings).toBeGreaterThan(1);
    expect(json.results[0].periods.some((p) => Object.keys(p.servedBy).some((k) => k.endsWith('/canary')))).toBe(true);
  }, 120_000);

  it('says what is wrong with its input, with exit code 2', async () => {
    const r = await replay([file('weekly.yaml'), '--data', file('missing.csv')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`refit replay: data file ${file('missing.csv')}: no such file\n`);
  }, 60_000);
});
