import { readFileSync } from 'node:fs';
import { Client, credentials, status, type MethodDefinition, type ServiceError } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';

/** What a health check can report. */
export type HealthStatus = 'SERVING' | 'NOT_SERVING' | 'UNKNOWN' | 'SERVICE_UNKNOWN';

type CheckRequest = { service: string };
type CheckResponse = { status?: string };

/**
 * Asks the standard gRPC health service at `address` (host:port) about `service` (default `''`,
 * the whole server; or a full name like `refit.trigger.v1.TriggerService`). Never throws, so it
 * can be polled while a server starts: a service the server does not know is `SERVICE_UNKNOWN`,
 * and an unreachable or too-slow server is `UNKNOWN`. `timeoutMs` defaults to 2,000. `caFile`: the
 * CA to verify a TLS server with (health needs no credential); default plaintext.
 */
export async function checkHealth(address: string, service = '', timeoutMs = 2_000, caFile?: string): Promise<HealthStatus> {
  const check = healthService.Check as MethodDefinition<CheckRequest, CheckResponse>;
  const client = new Client(address, caFile ? credentials.createSsl(readFileSync(caFile)) : credentials.createInsecure());
  try {
    return await new Promise<HealthStatus>((resolve) => {
      client.makeUnaryRequest(
        check.path,
        check.requestSerialize,
        check.responseDeserialize,
        { service },
        { deadline: Date.now() + timeoutMs },
        (err: ServiceError | null, res?: CheckResponse) => {
          if (err) resolve(err.code === status.NOT_FOUND ? 'SERVICE_UNKNOWN' : 'UNKNOWN');
          else resolve(isHealthStatus(res?.status) ? res.status : 'UNKNOWN');
        },
      );
    });
  } finally {
    client.close();
  }
}

function isHealthStatus(s: string | undefined): s is HealthStatus {
  return s === 'SERVING' || s === 'NOT_SERVING' || s === 'UNKNOWN' || s === 'SERVICE_UNKNOWN';
}
