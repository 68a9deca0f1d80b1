import { Worker } from 'node:worker_threads';
import type { AnalysisRequest } from './analysis-worker.js';
import { analyseStep, type AnalysisSpec, type Labeled, type StepAnalysis } from './rollout-analysis.js';

/** Below this many rows a side, a step is analysed on the calling thread (it takes a few ms). */
export const INLINE_ROWS = 2_000;

/**
 * A business metric's bootstrap re-evaluates the expression on every resample (about 50 ms for
 * 1,000 rows): it goes to the worker from a tenth of {@link INLINE_ROWS}.
 */
const BUSINESS_COST = 10;

type Pending = { resolve(a: StepAnalysis): void; reject(e: Error): void };

/**
 * Runs {@link analyseStep} on a worker thread once the rows are many (a paired bootstrap over
 * 10,000 shadow rows is ~100 ms of CPU), so Predict calls are never stuck behind an analysis. One
 * long-lived worker, started on first use; it runs this same module from source under tsx and
 * from dist when built. Small steps are analysed inline.
 */
export class AnalysisThread {
  #worker: Worker | undefined;
  #next = 0;
  readonly #pending = new Map<number, Pending>();

  analyse(spec: AnalysisSpec, candidate: Labeled, champion: Labeled, paired: boolean): Promise<StepAnalysis> {
    const weight = spec.business ? BUSINESS_COST : 1;
    if (weight * Math.max(candidate.y.length, champion.y.length) < INLINE_ROWS) return Promise.resolve(analyseStep(spec, candidate, champion, paired));
    const worker = this.#start();
    const id = this.#next++;
    return new Promise<StepAnalysis>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.postMessage({ id, spec, candidate, champion, paired } satisfies AnalysisRequest);
    });
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    // Built (.js), or from source (.ts): then through tsx's API with the libraries' source
    // condition, whatever runs this thread (tsx, or vitest's own transform).
    const source = import.meta.url.endsWith('.ts');
    const worker = source
      ? new Worker(new URL('./analysis-worker.source.mjs', import.meta.url), { execArgv: ['--conditions=@refit/source'] })
      : new Worker(new URL('./analysis-worker.js', import.meta.url));
    worker.unref();
    worker.on('message', (m: { id: number; analysis?: StepAnalysis; error?: string }) => {
      const p = this.#pending.get(m.id);
      this.#pending.delete(m.id);
      if (m.analysis) p?.resolve(m.analysis);
      else p?.reject(new Error(`rollout analysis failed on its worker: ${m.error ?? 'no answer'}`));
    });
    const fail = (err: Error) => {
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
      this.#worker = undefined;
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the rollout analysis worker exited (code ${code})`)));
    this.#worker = worker;
    return worker;
  }

  /** Whether the worker thread is up (it starts with the first large analysis). */
  get started(): boolean {
    return this.#worker !== undefined;
  }

  /** Stops the worker (analyses still waiting fail). */
  async close(): Promise<void> {
    const w = this.#worker;
    this.#worker = undefined;
    if (w) await w.terminate();
  }
}
