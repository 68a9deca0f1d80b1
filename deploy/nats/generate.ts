/**
 * Writes deploy/nats/nats-server.conf: the NATS configuration every Refit deployment loads (one
 * user per service that may publish only its own events, an `external` user, an `admin` user), with
 * each password a `$REFIT_NATS_<USER>_PASSWORD` reference nats-server fills in from its environment.
 * It is generated from the event table, so run this after adding an event; a test fails while the
 * committed file is stale.
 *
 *   node --conditions=@refit/source --import tsx deploy/nats/generate.ts
 *
 * JetStream's store directory is not in the file: compose and Kubernetes give it with `-sd /data`.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { natsServerConfig } from '@refit/platform';

const file = fileURLToPath(new URL('nats-server.conf', import.meta.url));
writeFileSync(file, natsServerConfig({ subjectPrefix: 'refit', passwords: 'env', host: '0.0.0.0', port: 4222 }));
console.log(`wrote ${file}`);
