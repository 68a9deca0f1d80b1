import { z } from 'zod';

const TUNABLE = ['kind', 'hidden', 'activation', 'dropout', 'learningRate', 'l2', 'batchSize', 'classWeight', 'epochs'] as const;

const bounds = z.tuple([z.number(), z.number()]).refine(([lo, hi]) => lo <= hi, 'must be [lo, hi] with lo <= hi');

/** Where one tuned field's values come from: `choices`, a uniform `range`, or a log-uniform `logRange`. */
const paramDomain = z.union([
  z.strictObject({ choices: z.array(z.unknown()).min(1) }),
  z.strictObject({ range: bounds, integer: z.boolean().optional() }),
  z.strictObject({ logRange: bounds.refine(([lo]) => lo > 0, 'logRange bounds must be > 0'), integer: z.boolean().optional() }),
]);

/**
 * `model.search:` — hyper-parameter search. `strategy` grid | random | halving; `space` maps tunable
 * fields to domains; `trials` (default 20: random draws, halving's starting configurations, grid's
 * cap), `seed` (default model.seed), `gridSteps` (3), `eta` (3), `minEpochs`, `refit`
 * (best-trial | train+validation; default best-trial).
 */
export const searchSection = z.strictObject({
  strategy: z.enum(['grid', 'random', 'halving']),
  space: z.partialRecord(z.enum(TUNABLE), paramDomain).refine((s) => Object.keys(s).length > 0, 'must name at least one field'),
  trials: z.number().int().positive().max(1000).optional(),
  seed: z.number().int().optional(),
  gridSteps: z.number().int().positive().max(50).optional(),
  eta: z.number().int().min(2).optional(),
  minEpochs: z.number().int().positive().optional(),
  refit: z.enum(['best-trial', 'train+validation']).optional(),
});

/** `model:` — what to train and how. */
export const modelSection = z
  .strictObject({
    kind: z.enum(['logistic', 'mlp']).default('logistic'),
    /** binary (sigmoid, cross-entropy; default) or regression (linear output, mse/mae). */
    head: z.enum(['binary', 'regression']).optional(),
    loss: z.enum(['crossentropy', 'mse', 'mae']).optional(),
    hidden: z.array(z.number().int().positive()).optional(),
    activation: z.enum(['relu', 'tanh']).optional(),
    dropout: z.number().min(0).lt(1).optional(),
    epochs: z.number().int().positive().max(10_000).default(50),
    batchSize: z.number().int().positive().default(64),
    learningRate: z.number().positive().optional(),
    l2: z.number().min(0).optional(),
    seed: z.number().int().default(42),
    classWeight: z.union([z.enum(['none', 'balanced']), z.strictObject({ negative: z.number().positive(), positive: z.number().positive() })]).optional(),
    /**
     * How weights are fitted: `auto` (default; full-batch Newton for a logistic model whose pass
     * over the data is cheap, else mini-batch Adam), `newton` or `adam`.
     */
    solver: z.enum(['auto', 'newton', 'adam']).optional(),
    /** Stop when the validation loss has not improved for `patience` epochs (best weights restored by default). */
    earlyStopping: z.strictObject({ patience: z.number().int().positive(), minDelta: z.number().min(0).optional(), restoreBest: z.boolean().optional() }).optional(),
    /** Wall-clock budget of the whole training stage (all trials), seconds. Default: none. */
    budget: z.strictObject({ seconds: z.number().positive().max(86_400) }).optional(),
    /** `champion`: start from the champion's weights when its architecture and features match (default none). */
    warmStart: z.enum(['none', 'champion']).optional(),
    search: searchSection.optional(),
  })
  .superRefine((m, ctx) => {
    const head = m.head ?? 'binary';
    if (m.loss && (head === 'binary') !== (m.loss === 'crossentropy')) {
      ctx.addIssue({ code: 'custom', path: ['loss'], message: `${m.loss} does not fit a ${head} head (binary: crossentropy; regression: mse or mae)` });
    }
    if (m.classWeight && m.classWeight !== 'none' && head !== 'binary') {
      ctx.addIssue({ code: 'custom', path: ['classWeight'], message: 'applies to a binary head only' });
    }
    if (m.solver === 'newton' && (m.kind === 'mlp' || m.loss === 'mae')) {
      ctx.addIssue({ code: 'custom', path: ['solver'], message: `newton fits a logistic model with cross-entropy or mse, not ${m.kind === 'mlp' ? 'an mlp' : 'an mae loss'}; use adam or auto` });
    }
    if (m.warmStart === 'champion' && m.search) {
      ctx.addIssue({ code: 'custom', path: ['warmStart'], message: 'cannot be combined with search (trials vary the architecture)' });
    }
  });

/** Defaults of `model:` when it is left out. */
export const MODEL_DEFAULTS = { kind: 'logistic', epochs: 50, batchSize: 64, seed: 42 } as const;
