/** The `refit` CLI's building blocks, also used by the demo and the benchmarks. */
export * from './clients.js';
export * from './commands.js';
export * from './format.js';
export * from './context.js';
