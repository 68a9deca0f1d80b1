/** Prometheus metrics of a service: its registry, the platform's metrics and the /metrics endpoint. */
export * from './registry.js';
export * from './observers.js';
export * from './platform-metrics.js';
export * from './http.js';
