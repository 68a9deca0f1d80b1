import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Run } from '@refit/contracts';
import { auditProblems, compareAudits, SERVICES, waitRunEnds, type NamespaceAudit, type Stack } from '@refit/stack';
import { stageCounts, type Fault } from './faults.js';
import { applySpec, finishedAt, push, restartsOf, settle, startHarness, trigger } from './harness.js';
import { runProblems, summarizeRun, type ScenarioResult } from './result.js';
import { WORKLOADS, type FaultScenario } from './scenarios.js';

/** How long a run may take after its fault before the scenario gives up on it. */
const RUN_TIMEOUT_MS = 15 * 60_000;

/** Services that are not running at the end: nobody acted, so the supervision must have brought every one back. */
export function downAtEnd(stack: Stack): string[] {
  return SERVICES.flatMap((s) => stack.replicaAddresses[s].map((_, replica) => ({ s, replica }))).filter(({ s, replica }) => stack.pid(s, { replica }) === undefined).map(({ s, replica }) => `${s}${replica ? `-${replica + 1}` : ''} is down at the end`);
}

/**
 * Runs one scenario on a fresh stack: apply the workload's spec, push its data, trigger a run,
 * inject the fault, wait for the run, let the namespace settle, then check it on its own and
 * against the clean run's counts (`baseline`; none for the clean run itself).
 */
export async function runFaultScenario(s: FaultScenario, opts: { baseline?: NamespaceAudit; say: (line: string) => void }): Promise<{ result: ScenarioResult; audit?: NamespaceAudit }> {
  const started = Date.now();
  const w = WORKLOADS[s.workload];
  const h = await startHarness(s.name, { say: opts.say });
  const problems: string[] = [];
  let fault: Fault | undefined;
  let run: Run | undefined;
  let audit: NamespaceAudit | undefined;
  try {
    await applySpec(h, w.specYaml());
    await push(h, w.pipeline, w.csv(mkdtempSync(join(tmpdir(), 'refit-chaos-'))));
    const before = await stageCounts(h);
    const runId = await trigger(h, w.pipeline, `chaos: ${s.fault}`);
    h.say(`run ${runId} triggered; fault: ${s.fault}`);
    if (s.inject) {
      fault = await s.inject({ h, runId, before }).catch((err: unknown) => {
        problems.push(`the fault could not be injected: ${err instanceof Error ? err.message : String(err)}`);
        return undefined;
      });
      if (fault) h.say(`${fault.what}${fault.notes.length ? ` — ${fault.notes.join('; ')}` : ''}`);
      problems.push(...(fault?.problems ?? []));
    }
    run = await waitRunEnds(h.c, runId, { timeoutMs: RUN_TIMEOUT_MS }).catch((err: unknown) => {
      problems.push(err instanceof Error ? err.message : String(err));
      return undefined;
    });
    await settle(h);
    audit = await h.audit();
    problems.push(...runProblems(run), ...auditProblems(audit, { expectDeadLetters: s.expectDeadLetters }));
    if (opts.baseline) problems.push(...compareAudits(opts.baseline, audit));
    else if (audit.rows['registry.models'] !== 1) problems.push(`${audit.rows['registry.models']} models registered, one expected`);
    problems.push(...downAtEnd(h.stack));
    const result: ScenarioResult = {
      scenario: s.name,
      fault: s.fault,
      replicas: 1,
      pass: problems.length === 0,
      runs: run ? [summarizeRun(run)] : [],
      ...(fault ? { faultAt: new Date(fault.at).toISOString() } : {}),
      ...(fault && run ? { faultToCompletedMs: finishedAt(run) - fault.at } : {}),
      ...(fault?.endedAt && run ? { outageEndToCompletedMs: finishedAt(run) - fault.endedAt } : {}),
      notes: fault ? [fault.what, ...fault.notes] : [],
      restarts: restartsOf(h.stack),
      problems,
      wallMs: Date.now() - started,
    };
    return { result, audit };
  } finally {
    await h.close();
  }
}
