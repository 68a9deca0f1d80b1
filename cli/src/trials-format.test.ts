import { create } from '@bufbuild/protobuf';
import { TrainingProgressSchema, TrialSchema } from '@refit/contracts';
import { describe, expect, it } from 'vitest';
import { createStatusLine, formatProgress, formatTrials } from './trials-format.js';

describe('trials and progress', () => {
  it('lists trials with the chosen one marked, and nothing without a search', () => {
    const trials = [
      create(TrialSchema, { trial: 0, status: 'early-stopped', epochs: 9, bestEpoch: 6, score: 0.4806, durationMs: 120n, paramsJson: '{"learningRate":0.01}', best: true }),
      create(TrialSchema, { trial: 1, status: 'diverged', epochs: 1, durationMs: 15n, paramsJson: '{"learningRate":1000}' }),
    ];
    const text = formatTrials(trials);
    expect(text).toContain('    * 0     0  early-stopped       9     6    0.4806     120  {"learningRate":0.01}');
    expect(text).toContain('      1     0  diverged            1     0         —      15  {"learningRate":1000}');
    expect(formatTrials([])).toBe('');
  });

  it('draws a progress bar over trials and epochs', () => {
    const p = create(TrainingProgressSchema, { trial: 1, trials: 4, epoch: 5, epochs: 10, loss: 0.5, valLoss: 0.52 });
    expect(formatProgress(p, 8)).toBe('  training ███░░░░░  38% trial 2/4 epoch 5/10 loss 0.5000 val 0.5200');
    expect(formatProgress(create(TrainingProgressSchema, { trials: 1, epoch: 60, epochs: 60, loss: 0.47, done: true }), 4)).toBe('  training ████ 100% epoch 60/60 loss 0.4700 done');
  });
});

describe('status line', () => {
  const capture = (tty: boolean) => {
    const chunks: string[] = [];
    return { chunks, line: createStatusLine((s) => chunks.push(s), tty) };
  };

  it('redraws one line in place on a TTY, keeps it under finished stages, and ends below it', () => {
    const { chunks, line } = capture(true);
    line.update('  training ██░░  50% epoch 1/2');
    line.update('  training ██░░  50% epoch 1/2');
    line.print('  ✓ feature');
    line.update('  training ████ 100% epoch 2/2');
    line.end();
    expect(chunks.join('')).toBe('\r\x1b[2K  training ██░░  50% epoch 1/2\r\x1b[2K  ✓ feature\n  training ██░░  50% epoch 1/2\r\x1b[2K  training ████ 100% epoch 2/2\n');
    expect(chunks.join('').split('\n')).toHaveLength(3);
  });

  it('prints plain lines, one per change, when not a TTY', () => {
    const { chunks, line } = capture(false);
    line.update('a');
    line.update('a');
    line.print('stage');
    line.update('b');
    line.end();
    expect(chunks.join('')).toBe('a\nstage\nb\n');
  });
});
