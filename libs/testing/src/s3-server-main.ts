/**
 * Standalone fake S3 for the local stack and e2e tests:
 *   REFIT_S3_PORT (default 9000), REFIT_S3_HOST (default 127.0.0.1), REFIT_S3_DIR (default a temp dir).
 * Prints one JSON line with the URL once listening; SIGTERM/SIGINT stop it.
 */
import { startS3Server } from './s3-server.js';

const port = Number(process.env.REFIT_S3_PORT ?? 9000);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`invalid REFIT_S3_PORT=${JSON.stringify(process.env.REFIT_S3_PORT)}: expected a port number 0-65535`);
  process.exit(2);
}
const server = await startS3Server({ port, host: process.env.REFIT_S3_HOST || undefined, directory: process.env.REFIT_S3_DIR || undefined });
console.log(JSON.stringify({ service: 's3', msg: 's3 server listening', url: server.url, directory: server.directory }));

const onSignal = (signal: NodeJS.Signals): void => {
  void server.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(`s3 server failed to stop on ${signal}:`, err);
      process.exit(1);
    },
  );
};
process.once('SIGTERM', onSignal);
process.once('SIGINT', onSignal);
