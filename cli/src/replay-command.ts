import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';

/**
 * The replay program (the workspace app under replay/): the CLI runs it as a process, from its
 * sources under tsx, rather than importing it, since it composes the services' own decision code,
 * which the CLI never loads.
 */
export const REPLAY_MAIN = fileURLToPath(new URL('../../replay/src/main.ts', import.meta.url));

// Resolved here, not from the working directory, so `refit replay` runs from any folder.
const TSX = import.meta.resolve('tsx');

/** The arguments `refit replay …` hands on: everything after `replay`, and the CLI's own `--json`. */
export function replayArgs(args: readonly string[], json: boolean): string[] {
  return json && !args.includes('--json') ? [...args, '--json'] : [...args];
}

/**
 * `refit replay <spec.yaml> [<other.yaml>] --data <file>… [--period 7d] [--from …] [--until …] [--json]`:
 * a history replayed through the trigger, gate and rollout logic on a virtual clock (see
 * replay/src/main.ts for every option: `refit replay --help`). stdout, stderr and the exit code
 * are the program's own.
 */
export function registerReplayCommand(program: Command): void {
  program
    .command('replay')
    .description('try policies on history: replay data through the trigger, gate and rollout logic on a virtual clock (refit replay --help)')
    .argument('[args...]', 'spec(s), --data files and options, passed to the replay program')
    .helpOption(false)
    .allowUnknownOption()
    .action((args: string[]) => {
      const r = spawnSync(process.execPath, ['--conditions=@refit/source', '--import', TSX, '--no-warnings', REPLAY_MAIN, ...replayArgs(args, program.opts().json === true)], { stdio: 'inherit' });
      process.exitCode = r.status ?? 1;
    });
}
