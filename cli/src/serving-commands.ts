import { toJson } from '@bufbuild/protobuf';
import { SendFeedbackResponseSchema } from '@refit/contracts';
import { InvalidInputError } from '@refit/platform/client';
import type { Clients } from './clients.js';
import { readJsonl, type Io } from './commands.js';

/**
 * `refit feedback <pipeline> --input labels.jsonl`: true labels for earlier predictions
 * ({"predictionId": "…", "label": 1}, with `"labelValue": "2.3"` — the label column's raw value —
 * for a pipeline that trains on feedback and derives its label by a rule).
 */
export async function sendFeedback(c: Clients, io: Io, pipeline: string, input: string): Promise<void> {
  const rows = await readJsonl(input);
  const feedback = rows.map((r, i) => {
    if (typeof r.predictionId !== 'string' || typeof r.label !== 'number') {
      throw new InvalidInputError(`${input} line ${i + 1}: expected {"predictionId": "<id from refit predict>", "label": 0 or 1}`);
    }
    const labelValue = r.labelValue === undefined || r.labelValue === null ? '' : String(r.labelValue);
    return { predictionId: r.predictionId, label: r.label, labelValue };
  });
  const r = await c.deployer.sendFeedback({ pipeline, feedback });
  const human = [
    `${r.joined} of ${feedback.length} labels joined to their predictions`,
    ...(r.duplicate > 0n ? [`${r.duplicate} repeated a label already joined (the first label wins)`] : []),
    ...(r.conflict > 0n ? [`${r.conflict} contradicted a label already joined and were kept aside, not joined (the first label wins):`, ...r.conflicting.map((id) => `  conflicting feedback for: ${id}`)] : []),
    ...r.unknown.map((id) => `  unknown prediction id: ${id}`),
  ].join('\n');
  io.out(io.json ? JSON.stringify(toJson(SendFeedbackResponseSchema, r, { alwaysEmitImplicit: true }), null, 2) : human);
}
