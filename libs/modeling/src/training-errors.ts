import { ModelingInputError } from './errors.js';
import type { EpochLog } from './epoch-log.js';

/**
 * Training produced a non-finite loss (usually a learning rate that is too high). Retrying the same
 * inputs, spec and seed diverges again, so it is an input error; a search records the trial as
 * diverged and goes on.
 */
export class TrainingDivergedError extends ModelingInputError {
  /** The 1-based epoch whose loss was not finite. */
  readonly epoch: number;
  /** Every epoch up to and including the diverged one. */
  readonly history: EpochLog[];

  constructor(epoch: number, history: EpochLog[], learningRate: number, limit: number) {
    const last = history.at(-1);
    super(
      `training diverged at epoch ${epoch}: loss ${String(last?.loss)} (limit ${limit.toPrecision(4)}), validation loss ${String(last?.valLoss)}; ` +
        `the learning rate ${learningRate} is probably too high`,
    );
    this.name = 'TrainingDivergedError';
    this.epoch = epoch;
    this.history = history;
  }
}
