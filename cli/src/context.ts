import type { Command } from 'commander';
import { connect, type Clients } from './clients.js';
import type { Io } from './commands.js';

/** What a command group needs to register its commands: clients and output for each action. */
export type CliContext = {
  /** Wraps a command body: connects the clients and passes the output settings (`--json`). */
  action<A extends unknown[]>(fn: (c: Clients, io: Io, ...args: A) => Promise<unknown>): (...args: A) => Promise<void>;
};

/** Builds the context of a program whose global options include `--json`. */
export function createContext(program: Command): CliContext {
  const io = (): Io => {
    const json = Boolean(program.opts().json);
    const tty = process.stderr.isTTY === true;
    return { json, progress: !json && tty, tty, out: (s) => console.log(s), err: (s) => console.error(s), write: (s) => void process.stderr.write(s) };
  };
  return {
    action:
      (fn) =>
      async (...args) => {
        await fn(connect(), io(), ...args);
      },
  };
}
