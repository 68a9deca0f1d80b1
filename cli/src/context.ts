import type { Command } from 'commander';
import type { Clients } from './clients.js';
import type { Io } from './commands.js';

/**
 * A command body: the group's implementation module, the clients, the output settings, then
 * commander's arguments and options.
 */
export type CommandBody<M, A extends unknown[]> = (m: M, c: Clients, io: Io, ...args: A) => Promise<unknown>;

/** What a command group needs to register its commands: clients and output for each action. */
export type CliContext = {
  /**
   * The action wrapper of a command group whose implementation `load` imports. The module, the
   * gRPC clients and everything they import load only when one of the group's commands runs, so
   * `refit --help` (and a mistyped command) loads none of them.
   */
  group<M>(load: () => Promise<M>): <A extends unknown[]>(fn: CommandBody<M, A>) => (...args: A) => Promise<void>;
};

/** Builds the context of a program whose global options include `--json`. */
export function createContext(program: Command): CliContext {
  const io = (): Io => {
    const json = Boolean(program.opts().json);
    const tty = process.stderr.isTTY === true;
    return { json, progress: !json && tty, tty, out: (s) => console.log(s), err: (s) => console.error(s), write: (s) => void process.stderr.write(s) };
  };
  return {
    group:
      (load) =>
      (fn) =>
      async (...args) => {
        const [m, { connect }] = await Promise.all([load(), import('./clients.js')]);
        await fn(m, connect(), io(), ...args);
      },
  };
}
