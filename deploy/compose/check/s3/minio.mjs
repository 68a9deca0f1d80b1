// The minio stand-in's `minio server <dir>` (see ../Containerfile): the repository's test S3 server
// (s3-server.mjs, compiled from libs/testing/src/s3-server.ts by the check) on 0.0.0.0:9000,
// storing under <dir>, accepting the MINIO_ROOT_USER / MINIO_ROOT_PASSWORD key pair.
import { createRequire } from 'node:module';
import { startS3Server } from './s3-server.mjs';

const [command, directory] = process.argv.slice(2);
if (command !== 'server' || !directory) {
  console.error('usage: minio server <dir>   (the stand-in knows this command only)');
  process.exit(2);
}
const user = process.env.MINIO_ROOT_USER;
const password = process.env.MINIO_ROOT_PASSWORD;
if (!user || !password) {
  console.error('MINIO_ROOT_USER and MINIO_ROOT_PASSWORD are required');
  process.exit(2);
}
// s3rver knows one account; give it the compose file's key pair (the bundle exports its model).
createRequire(import.meta.url)('s3rver').AWSAccount.DUMMY_ACCOUNT.createKeyPair(user, password);
const server = await startS3Server({ host: '0.0.0.0', port: 9000, directory });
console.log(JSON.stringify({ msg: 'minio stand-in (s3rver) listening', url: server.url, directory }));
for (const signal of ['SIGTERM', 'SIGINT']) process.once(signal, () => void server.stop().then(() => process.exit(0)));
