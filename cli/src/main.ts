// The entry of the `refit` CLI. Only the command tree loads here; each group's implementation,
// the gRPC clients and the platform library load when a command of that group runs.
import { Command, Option } from 'commander';
import { createContext } from './context.js';
import { errorDetailLines, errorJson } from './error-format.js';
import { exitWhenWritten, quietOnBrokenPipe } from './exit.js';
import { registerAlertCommands } from './program/alerts.js';
import { registerAuthCommands } from './program/auth.js';
import { registerCoreCommands } from './program/core.js';
import { registerDataCommands } from './program/data.js';
import { registerRegistryCommands } from './program/registry.js';
import { registerReportCommand } from './program/report.js';
import { registerRolloutCommands } from './program/rollout.js';
import { registerServingCommands } from './program/serving.js';
import { registerStreamCommands } from './program/stream.js';
import { registerTriggerCommands } from './program/triggers.js';
import { registerReplayCommand } from './replay-command.js';

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
registerStreamCommands(program, ctx);
registerAlertCommands(program, ctx);
registerAuthCommands(program);
registerReplayCommand(program);
registerReportCommand(program, ctx);

program.parseAsync().then(
  () => exitWhenWritten(typeof process.exitCode === 'number' ? process.exitCode : 0),
  async (err: unknown) => {
    const { isRefitError, serviceAddress } = await import('@refit/platform/client');
    let message = isRefitError(err) ? err.message : err instanceof Error ? err.message : String(err);
    // Say which service could not be reached and where, rather than grpc-js's channel state.
    const method = (err as { grpcMethod?: string }).grpcMethod ?? '';
    const service = /^\/refit\.(\w+)\.v1\./.exec(method)?.[1];
    if (isRefitError(err) && err.kind === 'unavailable' && service && message.startsWith('No connection established')) {
      message = `cannot reach the ${service} service at ${serviceAddress(service)} (is the stack running? npm run stack)`;
    }
    if (program.opts().json) console.log(JSON.stringify({ error: errorJson(err, isRefitError(err) ? err.kind : 'internal', message) }));
    // Then the bad fields (google.rpc.BadRequest) and the retry delay (RetryInfo) the service sent.
    console.error([`refit: ${message}`, ...errorDetailLines(err, message)].join('\n'));
    return exitWhenWritten(isRefitError(err) && err.kind === 'invalid_input' ? 2 : 1);
  },
);
