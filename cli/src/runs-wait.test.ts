import { create } from '@bufbuild/protobuf';
import { RunSchema, RunStatus, TrainingProgressSchema, type Run } from '@refit/contracts';
import { describe, expect, it } from 'vitest';
import type { Clients } from './clients.js';
import { runsWait, type Io } from './commands.js';

/** Stand-ins for the trigger's GetRun and the trainer's GetProgress/ListTrials: a run that trains 6 epochs. */
function clientsOfATraining(): Clients {
  let polls = 0;
  const running = (): Run => create(RunSchema, { runId: 'r1', pipeline: 'p', status: RunStatus.RUNNING, stages: [{ stage: 'feature', status: 'done', computeMs: 5n }] });
  const trigger = {
    async getRun() {
      polls++;
      if (polls < 8) return { run: running() };
      return { run: create(RunSchema, { runId: 'r1', pipeline: 'p', status: RunStatus.SUCCEEDED, stages: [...running().stages, { stage: 'trainer', status: 'done', computeMs: 40n }] }) };
    },
  };
  const trainer = {
    async getProgress() {
      return { progress: create(TrainingProgressSchema, { trial: 0, trials: 1, epoch: Math.min(polls, 6), epochs: 6, loss: 1 / polls }) };
    },
    async listTrials() {
      return { trials: [] };
    },
  };
  return { trigger, trainer } as unknown as Clients;
}

function io(tty: boolean) {
  const written: string[] = [];
  const errs: string[] = [];
  const out: string[] = [];
  const value: Io = { json: false, progress: tty, tty, out: (s) => out.push(s), err: (s) => errs.push(s), write: (s) => written.push(s) };
  return { value, written, errs, out };
}

describe('refit runs wait', () => {
  it('on a terminal redraws the progress bar in place, with the stages as lines around it', async () => {
    const t = io(true);
    await runsWait(clientsOfATraining(), t.value, 'r1', 10_000);
    const text = t.written.join('');
    const lines = text.split('\n');
    // waiting…, ✓ feature, ✓ trainer, and the last progress line closed by end(): nothing else starts a line.
    expect(lines.filter((l) => l !== '')).toHaveLength(4);
    const redraws = text.split('\r\x1b[2K  training ').slice(1);
    expect(redraws.length).toBeGreaterThan(1);
    for (const r of redraws) expect(r).toMatch(/^█+░* +\d+% epoch \d\/6 loss \d\.\d{4}/);
    expect(text).toContain('✓ trainer');
    expect(t.errs).toEqual([]);
    expect(t.out.join('\n')).toContain('r1');
  });

  it('without a terminal prints plain lines, never a carriage return', async () => {
    const t = io(false);
    await runsWait(clientsOfATraining(), t.value, 'r1', 10_000);
    expect(t.written).toEqual([]);
    expect(t.errs[0]).toBe('waiting for run r1…');
    expect(t.errs.some((l) => l.startsWith('  training '))).toBe(true);
    expect(t.errs.join('\n')).not.toContain('\r');
    expect(t.errs.join('\n')).not.toContain('\x1b');
  });
});
