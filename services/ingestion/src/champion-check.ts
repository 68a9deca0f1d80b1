import type { RegistryService } from '@refit/contracts';
import { applyTransform, initBackend, loadModel, parseTransform, type BackendPreference, type RawRow } from '@refit/modeling';
import { isNotFound, type ArtifactStore, type Client } from '@refit/platform';
import type { PipelineSpec } from '@refit/spec';
import type { ChampionOutcome } from './label-checks.js';
import { binaryLabel } from './label-rule.js';

/** Scores a batch's rows with the pipeline's champion, if there is one (see {@link createChampionCheck}). */
export type ChampionCheck = (spec: PipelineSpec, rows: readonly RawRow[], signal?: AbortSignal) => Promise<ChampionOutcome>;

/** What {@link createChampionCheck} uses. */
export type ChampionCheckDeps = {
  /** Asked for the pipeline's champion (a client authenticated as the ingestion service). */
  registry: Pick<Client<typeof RegistryService>, 'getAlias'>;
  /** Where the registry is, for messages. */
  registryAddress: string;
  /** Holds the champion's model and transform. */
  store: Pick<ArtifactStore, 'get'>;
  /** TensorFlow.js backend to score on. */
  tfBackend: BackendPreference;
  /** Longest the whole check may take, ms. */
  timeoutMs: number;
};

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** `p`, or the signal's abort if it comes first (what `p` does later is left to it, handled). */
function until<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new Error('aborted'));
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/**
 * The champion check: asks the registry for the pipeline's champion (`GetAlias champion`) and
 * scores the batch's labelled rows with it exactly as serving does — its own fitted transform and
 * model from the object store — with the labels under the spec's rule. Binary labels only. No
 * champion: `none`. A registry that does not answer, missing artifacts, a model that cannot score:
 * `skipped` with the reason, within `timeoutMs` at most; it never fails the push.
 */
export function createChampionCheck({ registry, registryAddress, store, tfBackend, timeoutMs }: ChampionCheckDeps): ChampionCheck {
  return async (spec, rows, signal) => {
    const label = binaryLabel(spec);
    if (!label) return { kind: 'none' };
    const deadline = AbortSignal.timeout(timeoutMs);
    const stop = signal ? AbortSignal.any([signal, deadline]) : deadline;
    const why = (err: unknown): string => (deadline.aborted ? `no answer within ${timeoutMs} ms` : signal?.aborted ? 'the push was cancelled' : messageOf(err));
    let champion;
    try {
      champion = (await until(registry.getAlias({ pipeline: spec.name, alias: 'champion' }, { timeoutMs, signal }), stop)).model;
    } catch (err) {
      if (isNotFound(err)) return { kind: 'none' };
      return { kind: 'skipped', reason: `the registry at ${registryAddress} could not be asked for the champion (${why(err)})` };
    }
    const modelRef = champion?.lineage?.model;
    const transformRef = champion?.lineage?.transform;
    if (!champion || !modelRef?.key || !transformRef?.key) return { kind: 'none' };
    const labelled: RawRow[] = [];
    const y: number[] = [];
    for (const r of rows) {
      const v = label.of(r[label.column] ?? null);
      if (v === undefined) continue;
      labelled.push(r);
      y.push(v);
    }
    if (labelled.length === 0) return { kind: 'skipped', reason: 'the batch has no labelled rows to score' };
    try {
      const [modelBytes, transformBytes] = await until(Promise.all([store.get(modelRef.key), store.get(transformRef.key)]), stop);
      await until(initBackend({ prefer: tfBackend }), stop);
      const t = applyTransform(parseTransform(transformBytes), labelled);
      // Not raced: a model loaded after giving up would never be disposed.
      const model = await loadModel(modelBytes);
      let scores: Float32Array;
      try {
        scores = model.predict(t.X, t.n);
      } finally {
        model.dispose();
      }
      const evaluatedAuc = Object.hasOwn(champion.metrics, 'auc') ? champion.metrics.auc : undefined;
      return { kind: 'scored', version: champion.version, evaluatedAuc, y: Float64Array.from(y), scores };
    } catch (err) {
      return { kind: 'skipped', reason: `champion ${champion.version} could not score the batch (${why(err)})` };
    }
  };
}
