// `refit replay`: runs from source (node --conditions=@refit/source --import tsx replay/src/main.ts …);
// the `refit` CLI spawns it with the same arguments.
import { CommanderError } from 'commander';
import { ReplayInputError, replayCommand } from './args.js';
import { runReplay } from './run-replay.js';

async function main(): Promise<void> {
  const cmd = replayCommand(runReplay).exitOverride().name('refit replay');
  try {
    await cmd.parseAsync(process.argv.slice(2), { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
    throw err;
  }
}

main().catch((err: unknown) => {
  const input = err instanceof ReplayInputError;
  console.error(`refit replay: ${err instanceof Error ? (input ? err.message : (err.stack ?? err.message)) : String(err)}`);
  process.exit(input ? 2 : 1);
});
