// The images' HEALTHCHECK: `node healthcheck.mjs` asks the service's plaintext gRPC health port
// (REFIT_HEALTH_PORT) for the overall status and exits 0 only on SERVING; `node healthcheck.mjs
// http` asks the console's GET /healthz (REFIT_CONSOLE_PORT, default 8090). Plain JavaScript with
// @grpc/grpc-js only: nothing to compile, nothing that is not in the image already.
import grpc from '@grpc/grpc-js';

const TIMEOUT_MS = 3000;
const fail = (why) => {
  console.error(`unhealthy: ${why}`);
  process.exit(1);
};

async function http() {
  const port = process.env.REFIT_CONSOLE_PORT || '8090';
  const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (!res.ok) fail(`GET /healthz answered ${res.status}`);
}

function grpcHealth() {
  const port = Number(process.env.REFIT_HEALTH_PORT || 0);
  if (!port) fail('REFIT_HEALTH_PORT is 0: this service has no plaintext health port to ask');
  // grpc.health.v1.Health/Check with HealthCheckRequest{service: ""}: an empty message; the
  // answer's field 1 (tag 0x08) is the status, 1 = SERVING.
  const Client = grpc.makeGenericClientConstructor({
    Check: {
      path: '/grpc.health.v1.Health/Check',
      requestStream: false,
      responseStream: false,
      requestSerialize: () => Buffer.alloc(0),
      responseDeserialize: (b) => (b.length >= 2 && b[0] === 0x08 ? b[1] : 0),
    },
  });
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    client.Check({}, { deadline: Date.now() + TIMEOUT_MS }, (err, status) => {
      client.close();
      if (err) fail(err.message);
      if (status !== 1) fail(`status ${status} (1 is SERVING)`);
      resolve();
    });
  });
}

await (process.argv[2] === 'http' ? http() : grpcHealth()).catch((e) => fail(e instanceof Error ? e.message : String(e)));
