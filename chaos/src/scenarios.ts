import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, writeWeatherSlice } from '@refit/stack';
import { killInStage, killTrigger, registryDown, restartInfraInTraining, s3Down, sigtermInTraining, type Fault, type FaultContext } from './faults.js';

/** The run a scenario drives: a spec and one batch of data. */
export type Workload = {
  name: 'rain' | 'slow-rain';
  pipeline: string;
  specYaml: () => string;
  /** Writes (or finds) the CSV to push and returns its path. */
  csv: (dir: string) => string;
};

export const WORKLOADS: Record<Workload['name'], Workload> = {
  // The example pipeline on Seattle 2012–2013: a first model, promoted on its floors.
  rain: {
    name: 'rain',
    pipeline: 'weather-rain',
    specYaml: () => readFileSync(join(REPO_ROOT, 'examples/weather-rain.yaml'), 'utf8'),
    csv: (dir) => {
      const file = join(dir, 'seattle-2012-2013.csv');
      writeWeatherSlice(file, 'Seattle', 2012, 2013);
      return file;
    },
  },
  // A slow model (300 epochs of 16 rows) on Seattle 2012: training lasts long enough to be interrupted.
  'slow-rain': {
    name: 'slow-rain',
    pipeline: 'slow-rain',
    specYaml: () => readFileSync(join(REPO_ROOT, 'test/e2e/fixtures/slow-rain.yaml'), 'utf8'),
    csv: () => join(REPO_ROOT, 'test/e2e/fixtures/seattle-2012.csv'),
  },
};

/** One fault on one run, checked against a clean run of the same workload. */
export type FaultScenario = {
  name: string;
  /** The fault in words, for the table. */
  fault: string;
  workload: Workload['name'];
  /** The harness's action; none for a clean run. */
  inject?: (ctx: FaultContext) => Promise<Fault>;
  /** Dead letters are part of what the scenario expects. Default false. */
  expectDeadLetters?: boolean;
};

const MINUTE = 60_000;

/** The clean runs every fault is compared with, one per workload. */
export const CLEAN: Record<Workload['name'], FaultScenario> = {
  rain: { name: 'clean', fault: 'none (the baseline)', workload: 'rain' },
  'slow-rain': { name: 'clean-slow', fault: 'none (the baseline of the long training)', workload: 'slow-rain' },
};

/** Every fault scenario, in the order the suite runs them. */
export const FAULT_SCENARIOS: readonly FaultScenario[] = [
  { name: 'kill-trigger', fault: 'kill -9 trigger right after TriggerRun', workload: 'rain', inject: killTrigger },
  ...(['ingestion', 'feature', 'trainer', 'evaluator', 'registry', 'deployer'] as const).map(
    (s): FaultScenario => ({ name: `kill-${s}`, fault: `kill -9 ${s} inside its stage`, workload: 'rain', inject: (ctx) => killInStage(ctx, s) }),
  ),
  { name: 'postgres-restart', fault: 'Postgres restart during training', workload: 'rain', inject: (ctx) => restartInfraInTraining(ctx, 'postgres') },
  { name: 'nats-restart', fault: 'NATS restart during training', workload: 'rain', inject: (ctx) => restartInfraInTraining(ctx, 'nats') },
  { name: 's3-down-60s', fault: 'S3 down 60 s from the trigger on', workload: 'rain', inject: (ctx) => s3Down(ctx, MINUTE) },
  { name: 'registry-down-60s', fault: 'registry down 60 s from the start of training', workload: 'rain', inject: (ctx) => registryDown(ctx, MINUTE) },
  { name: 'sigterm-trainer', fault: 'SIGTERM to the trainer during a long training', workload: 'slow-rain', inject: sigtermInTraining },
];
