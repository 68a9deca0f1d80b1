/** Runs Refit locally: the infrastructure that is missing, the seven services as supervised processes, and the demo. */
export * from './stack.js';
export * from './stack-infra.js';
export * from './infra.js';
export * from './infra-control.js';
export * from './backoff.js';
export * from './supervisor.js';
export * from './reset.js';
export * from './stack-teardown.js';
export * from './weather-data.js';
export * from './audit.js';
export * from './stage-watch.js';
export * from './log-tail.js';
export * from './service-process.js';
export * from './container-launch.js';
export * from './metric-refs.js';
