import { describe, expect, it } from 'vitest';
import { parseArgs } from './args.js';
import { formatTable } from './report.js';
import type { ScenarioResult } from './result.js';

describe('parseArgs', () => {
  const known = ['clean', 'kill-trainer', 'nats-restart'];
  it('takes --only as a list, repeated or with =', () => {
    expect(parseArgs(['--only', 'kill-trainer,nats-restart'], known)).toEqual({ only: ['kill-trainer', 'nats-restart'], list: false });
    expect(parseArgs(['--only=clean', '--only', 'nats-restart'], known).only).toEqual(['clean', 'nats-restart']);
    expect(parseArgs([], known)).toEqual({ only: [], list: false });
    expect(parseArgs(['--list'], known).list).toBe(true);
  });

  it('refuses unknown scenarios and arguments, naming them', () => {
    expect(() => parseArgs(['--only', 'kill-everything'], known)).toThrow(/unknown scenario\(s\) kill-everything; known: clean, kill-trainer, nats-restart/);
    expect(() => parseArgs(['--fast'], known)).toThrow(/unknown argument '--fast'/);
    expect(() => parseArgs(['--only'], known)).toThrow(/--only needs a scenario name/);
  });
});

describe('formatTable', () => {
  const base: ScenarioResult = { scenario: 'kill-trainer', fault: 'kill -9 trainer inside its stage', replicas: 1, pass: true, runs: [], notes: [], restarts: { trainer: 1 }, problems: [], wallMs: 1 };
  it('shows the time from fault to completion, the outcome and the first problem', () => {
    const table = formatTable([
      { ...base, faultToCompletedMs: 7340 },
      { ...base, scenario: 's3-down-60s', fault: 'S3 down 60 s', pass: false, problems: ['the run failed at ingestion: S3 unreachable', 'another'], restarts: {} },
    ]);
    const lines = table.split('\n');
    expect(lines[0]).toMatch(/^scenario\s+fault\s+fault → completed\s+outcome\s+problems$/);
    expect(lines[2]).toMatch(/^kill-trainer\s+kill -9 trainer inside its stage\s+7\.3 s\s+pass\s+restarted: trainer×1$/);
    expect(lines[3]).toMatch(/^s3-down-60s\s+S3 down 60 s\s+—\s+FAIL\s+2: the run failed at ingestion: S3 unreachable$/);
  });
});
