/** The `refit` CLI's building blocks, also used by the demo and the benchmarks. */
export * from './clients.js';
export * from './commands.js';
// Not through commands.ts: the data commands load @refit/spec, which `refit runs …` does not need.
export { dataPush, dataQuarantine } from './data-commands.js';
export * from './format.js';
export * from './context.js';
export * from './demo.js';
