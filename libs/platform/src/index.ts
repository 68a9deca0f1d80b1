/** Refit's plumbing: config, logs, errors, gRPC, NATS events, Postgres, object storage, shutdown. */
export * from './errors.js';
export * from './config.js';
export * from './logger.js';
export * from './shutdown.js';
export * from './storage.js';
export * from './pg/index.js';
export * from './nats/index.js';
export * from './grpc/index.js';
export * from './events.js';
export * from './runtime.js';
export * from './service-main.js';
