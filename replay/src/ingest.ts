import { createHash } from 'node:crypto';
import type { RawRow } from '@refit/modeling';
import type { PipelineSpec } from '@refit/spec';
import { judgeBatch } from '../../services/ingestion/src/batch-checks.js';
import { judgeLabels, type ChampionOutcome } from '../../services/ingestion/src/label-checks.js';
import { binaryLabel } from '../../services/ingestion/src/label-rule.js';
import type { BatchProfile } from '../../services/ingestion/src/profile.js';
import { RowChecker } from '../../services/ingestion/src/row-check.js';
import type { TimedRecord } from './records.js';

/** A pushed batch as the ingestion service judged it. */
export type Batch = {
  id: string;
  /** Virtual push time, ms. */
  at: number;
  status: 'accepted' | 'flagged' | 'rejected';
  rows: number;
  accepted: number;
  quarantined: number;
  /** The accepted rows as typed JSON lines (the snapshots' serialization). */
  lines: string[];
  /** Why the batch was rejected or flagged (the service's sentences). */
  problems: string[];
  warnings: string[];
};

/** Scores a batch's sample of accepted rows with the champion, as the ingestion service's label check does. */
export type ChampionScorer = (rows: readonly RawRow[]) => ChampionOutcome;

/**
 * The ingestion service's checks without its storage: every record through the service's
 * `RowChecker` (types, ranges, nullability, categories, unique ids; a bad row is quarantined),
 * the batch through `judgeLabels` and `judgeBatch` against the profile pinned from the first
 * usable batch (`pin: latest`: the newest usable one). A rejected batch never reaches a snapshot.
 */
export class Ingestion {
  readonly #spec: PipelineSpec;
  readonly #batches: Batch[] = [];
  readonly #shas = new Map<string, { batchId: string; at: number }>();
  #pinned: { batchId: string; profile: BatchProfile } | undefined;

  constructor(spec: PipelineSpec) {
    this.#spec = spec;
  }

  /** Judges and records one batch of records pushed at `at`. */
  push(id: string, records: readonly TimedRecord[], at: number, champion: ChampionScorer | undefined): Batch {
    const spec = this.#spec;
    const pinnedCategories = new Map(
      Object.entries(this.#pinned?.profile.columns ?? {}).flatMap(([name, p]) => (p.categories ? [[name, new Set(Object.keys(p.categories))] as const] : [])),
    );
    const label = binaryLabel(spec);
    const checker = new RowChecker(spec.schema.columns, pinnedCategories, label);
    const lines: string[] = [];
    let quarantined = 0;
    for (const r of records) {
      const c = checker.check(r.fields, r.layout.indexes, r.layout.fieldCount, r.raw, r.line);
      if ('json' in c) lines.push(c.json);
      else quarantined++;
    }
    const profile = checker.profiler.finish();
    const sha = createHash('sha256').update(records.map((r) => r.raw).join('\n')).digest('hex');
    const same = this.#shas.get(sha);
    // Before a first usable batch no champion can have learnt from this pipeline's data.
    const scored = this.#pinned && champion ? champion(checker.sample.rows()) : undefined;
    const verdict = judgeBatch(spec, profile, this.#pinned, {
      rowsTotal: records.length,
      rowsQuarantined: quarantined,
      duplicates: checker.duplicates,
      duplicateExample: checker.duplicateExample,
      checkCapped: checker.checkCapped,
      sameAs: same ? { batchId: same.batchId, createdAt: new Date(same.at) } : undefined,
      extraColumns: [],
      labels: judgeLabels(spec, label, profile, this.#pinned, scored),
    });
    const batch: Batch = { id, at, status: verdict.status, rows: records.length, accepted: lines.length, quarantined, lines, problems: verdict.problems, warnings: verdict.warnings };
    this.#batches.push(batch);
    if (!same) this.#shas.set(sha, { batchId: id, at });
    const usable = batch.status !== 'rejected' && batch.accepted > 0;
    if (usable && (!this.#pinned || spec.schema.batch.pin === 'latest')) this.#pinned = { batchId: id, profile };
    return batch;
  }

  /** The usable batches (not rejected, with accepted rows) pushed at or before `at`, oldest first. */
  usable(at: number): Batch[] {
    return this.#batches.filter((b) => b.at <= at && b.status !== 'rejected' && b.accepted > 0);
  }
}
