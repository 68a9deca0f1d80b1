import { timestampDate } from '@bufbuild/protobuf/wkt';
import { toJson } from '@bufbuild/protobuf';
import { GetLearnerResponseSchema, GetStreamStatsResponseSchema, type GetLearnerResponse, type GetStreamStatsResponse } from '@refit/contracts';
import { isNotFound, NotFoundError } from '@refit/platform/client';
import type { Clients } from './clients.js';
import type { Io } from './commands.js';

const num = (n: number, digits = 4): string => (Number.isFinite(n) ? n.toFixed(digits) : '—');
const when = (t: GetLearnerResponse['lastDecisionAt']): string => (t ? timestampDate(t).toISOString() : 'never');

/** The intake and the learner in a few readable lines (either may be missing). */
export function formatStreamStatus(pipeline: string, s: GetStreamStatsResponse | undefined, l: GetLearnerResponse | undefined): string {
  const lines: string[] = [`${pipeline}: stream`];
  if (s) {
    lines.push(
      `  intake  ${s.subject} (labels ${s.labelsSubject}): ${num(s.rowsPerSecond, 1)} rows/s, ${num(s.labelsPerSecond, 1)} labels/s, lag ${s.lag} messages`,
      `          ${s.rowsAccepted} rows accepted, ${s.rowsQuarantined} quarantined; ${s.labelsJoined} labels joined, ${s.labelsQuarantined} quarantined; ${s.rowsAwaitingLabel} rows await their label`,
      `          ${s.segments} segments, last ${s.lastSegmentAt ? timestampDate(s.lastSegmentAt).toISOString() : 'never'}${s.refused > 0n ? `; ${s.refused} messages refused (stream full)` : ''}`,
    );
  } else lines.push('  intake  no stream source (data.source.stream) for this pipeline');
  if (!l) {
    lines.push('  learner not started: it starts with the first segment once the pipeline has a champion and a continuous trigger with online:');
    return lines.join('\n');
  }
  const e = l.evidence;
  lines.push(
    `  learner ${l.state} from champion ${l.championVersion || '(none)'}: segment ${l.segment}, ${l.updates} updates, ${l.rowsLearned} rows learned, ${num(l.labeledRowsPerSecond, 1)} labeled rows/s, learning rate ${num(l.learningRate, 5)}`,
  );
  if (e && e.rows > 0n) {
    lines.push(
      `  prequential on ${e.rows} rows      learner    champion`,
      `    log loss                 ${num(e.learnerLogLoss).padStart(9)}  ${num(e.championLogLoss).padStart(9)}`,
      `    accuracy                 ${num(e.learnerAccuracy).padStart(9)}  ${num(e.championAccuracy).padStart(9)}`,
      `    improvement ${num(e.improvement)} [${num(e.lower)}, ${num(e.upper)}], anytime-valid p ${e.pValue.toPrecision(3)} (α ${e.alpha})`,
    );
  }
  lines.push(`  ${l.replacements} replacements, ${l.resets} resets; input drift vs the frozen transform ${num(l.transformDrift, 2)} (standardized mean shift)`);
  if (l.lastDecision) lines.push(`  last decision (${when(l.lastDecisionAt)}): ${l.lastDecision}`);
  return lines.join('\n');
}

async function orUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** `refit stream status <pipeline>`: ingestion's intake numbers and the trainer's learner. */
export async function streamStatus(c: Clients, io: Io, pipeline: string): Promise<void> {
  const [stats, learner] = await Promise.all([orUndefined(c.ingestion.getStreamStats({ pipeline })), orUndefined(c.trainer.getLearner({ pipeline }))]);
  if (!stats && !learner) throw new NotFoundError(`pipeline '${pipeline}' has no stream: give it data.source.stream (see the README's Streams section)`);
  if (io.json) {
    io.out(JSON.stringify({ intake: stats ? toJson(GetStreamStatsResponseSchema, stats, { alwaysEmitImplicit: true }) : null, learner: learner ? toJson(GetLearnerResponseSchema, learner, { alwaysEmitImplicit: true }) : null }, null, 2));
    return;
  }
  io.out(formatStreamStatus(pipeline, stats, learner));
}
