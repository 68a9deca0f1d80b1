/** Runs Refit locally: the infrastructure that is missing, the seven services as processes, and the demo. */
export * from './stack.js';
export * from './infra.js';
export * from './reset.js';
export * from './weather-data.js';
export * from './demo.js';
