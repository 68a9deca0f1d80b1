import { readFile } from 'node:fs/promises';
import { parseSpec, SpecError, type PipelineSpec } from '@refit/spec';
import { ReplayInputError, type Invocation } from './args.js';
import type { Progress, ReplayResult } from './engine.js';
import { formatComparison, formatResult } from './format.js';
import { historyOf, type DataFile } from './records.js';

async function readText(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new ReplayInputError(`${what} ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}

async function specOf(file: string): Promise<PipelineSpec> {
  try {
    return parseSpec(await readText(file, 'spec'));
  } catch (err) {
    if (err instanceof SpecError) throw new ReplayInputError(`${file}: ${err.message}`);
    throw err;
  }
}

/** Progress on a terminal's stderr, redrawn in place; nothing in a pipe. */
function progressFor(file: string): Progress | undefined {
  if (!process.stderr.isTTY) return undefined;
  return (done, total, start) => {
    process.stderr.write(`\r\x1b[Kreplay ${file}: period ${done}/${total} (${start.slice(0, 10)})`);
    if (done === total) process.stderr.write('\r\x1b[K');
  };
}

/**
 * One `refit replay`: reads the specs and the history, replays each spec on it and writes the
 * tables (and, for two specs, the side-by-side summary) or the JSON to stdout.
 * @throws ReplayInputError for a spec, a file or data the replay cannot take.
 */
export async function runReplay(inv: Invocation): Promise<void> {
  const specs = await Promise.all(inv.specs.map(specOf));
  const files: DataFile[] = await Promise.all(inv.data.map(async (name) => ({ name, text: await readText(name, 'data file') })));
  // The services' code and TensorFlow.js load only for a replay (help and bad arguments answer at once).
  const [{ Replay }, { initBackend }] = await Promise.all([import('./engine.js'), import('@refit/modeling')]);
  // As the services do; the same backend gives bit-identical models, so the same output.
  const { backend } = await initBackend({ prefer: 'wasm' });
  const results: ReplayResult[] = [];
  for (const [i, spec] of specs.entries()) {
    results.push(await new Replay(spec, inv.options).run(historyOf(files, spec), progressFor(inv.specs[i])));
  }
  const { options } = inv;
  if (options.json) {
    const shown = { ...options, from: options.from === undefined ? null : new Date(options.from).toISOString(), until: options.until === undefined ? null : new Date(options.until).toISOString() };
    process.stdout.write(`${JSON.stringify({ options: shown, data: inv.data, backend, results: results.map((r, i) => ({ spec: inv.specs[i], ...r })) }, null, 2)}\n`);
    return;
  }
  const parts = results.map((r, i) => formatResult(inv.specs[i], r, options));
  if (results.length === 2) parts.push(`side by side:\n${formatComparison(inv.specs, results)}`);
  process.stdout.write(`${parts.join('\n\n')}\n`);
}

