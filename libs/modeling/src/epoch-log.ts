/**
 * One epoch's training record. `epoch` is 1-based; losses are the spec's loss (mean binary
 * cross-entropy, MSE or MAE) plus the L2 penalty; `valLoss` is on the validation rows when given.
 */
export type EpochLog = { epoch: number; loss: number; valLoss?: number };
