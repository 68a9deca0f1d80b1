import { Command, Option } from 'commander';
import { isRefitError, serviceAddress } from '@refit/platform';
import { registerAlertCommands } from './alert-commands.js';
import { registerAuthCommands } from './auth-commands.js';
import { createContext } from './context.js';
import { registerCoreCommands } from './core-commands.js';
import { registerDataCommands } from './data-commands.js';
import { exitWhenWritten, quietOnBrokenPipe } from './exit.js';
import { registerRegistryCommands } from './registry-commands.js';
import { registerReplayCommand } from './replay-command.js';
import { registerReportCommand } from './report-command.js';
import { registerRolloutCommands } from './rollout-commands.js';
import { registerServingCommands } from './serving-commands.js';
import { registerTriggerCommands } from './trigger-commands.js';

quietOnBrokenPipe();
const program = new Command('refit')
  .description('Refit: keep machine-learning models current in production')
  .addOption(new Option('--json', 'machine-readable output'))
  .showHelpAfterError();
const ctx = createContext(program);

// Each command group registers itself here (one line per group).
registerCoreCommands(program, ctx);
registerDataCommands(program, ctx);
registerRegistryCommands(program, ctx);
registerTriggerCommands(program, ctx);
registerServingCommands(program, ctx);
registerRolloutCommands(program, ctx);
registerAlertCommands(program, ctx);
registerAuthCommands(program);
registerReplayCommand(program);
registerReportCommand(program, ctx);

program.parseAsync().then(
  () => exitWhenWritten(typeof process.exitCode === 'number' ? process.exitCode : 0),
  (err: unknown) => {
    let message = isRefitError(err) ? err.message : err instanceof Error ? err.message : String(err);
    // Say which service could not be reached and where, rather than grpc-js's channel state.
    const method = (err as { grpcMethod?: string }).grpcMethod ?? '';
    const service = /^\/refit\.(\w+)\.v1\./.exec(method)?.[1];
    if (isRefitError(err) && err.kind === 'unavailable' && service && message.startsWith('No connection established')) {
      message = `cannot reach the ${service} service at ${serviceAddress(service)} (is the stack running? npm run stack)`;
    }
    if (program.opts().json) console.log(JSON.stringify({ error: { kind: isRefitError(err) ? err.kind : 'internal', message } }));
    console.error(`refit: ${message}`);
    return exitWhenWritten(isRefitError(err) && err.kind === 'invalid_input' ? 2 : 1);
  },
);
