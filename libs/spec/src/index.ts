/** The pipeline spec: its schema, parsing and validation with errors that name the bad field. */
export * from './pipeline-spec.js';
export * from './parse.js';
export * from './infer-schema.js';
export * from './spec-problems.js';
export { lowerIsBetter } from './sections/gates.js';
