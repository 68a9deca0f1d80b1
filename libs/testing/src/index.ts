/** Test infrastructure for Refit: isolated envs on the real servers, a fake S3, helpers. */
export { createTestEnv, dropSchemasWithPrefix } from './test-env.js';
export type { TestEnv, TestEnvOptions } from './test-env.js';
export { S3RVER_KEY, startS3Server } from './s3-server.js';
export type { S3Server, S3ServerOptions } from './s3-server.js';
export { readEvents } from './read-events.js';
export type { ReadEventsOptions, StoredEvent } from './read-events.js';
export { waitFor } from './wait-for.js';
export type { WaitForOptions } from './wait-for.js';
export { freePort, startNatsServer } from './nats-server.js';
export type { NatsServer, NatsServerOptions } from './nats-server.js';
export { serviceEnv, startTestRuntime } from './service-runtime.js';
export { wageCsvPath, wageRows, weatherCsvPath, weatherRows } from './datasets.js';
export type { DataRow } from './datasets.js';
export { startServiceProcess } from './service-process.js';
export type { ServiceProcess } from './service-process.js';
