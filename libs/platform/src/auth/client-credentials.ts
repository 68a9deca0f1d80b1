/**
 * How a person's or an application's client finds its credentials: the CA to trust and a bearer
 * token or a client certificate, from `REFIT_*` variables or a local stack's `.refit/` folder.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { ChannelCredentials } from '@grpc/grpc-js';
import { InvalidInputError } from '../errors.js';
import { channelCredentials, readCaFile } from './tls.js';

/** Where a client's credentials came from, for messages. */
export type ClientCredentialSource = { credentials?: ChannelCredentials; description: string };

/** The nearest `.refit` folder with a CA, from `start` upwards (a local stack's credentials). */
export function findRefitHome(start: string = process.cwd()): string | undefined {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    if (existsSync(join(dir, '.refit', 'ca', 'ca.crt'))) return join(dir, '.refit');
    if (dirname(dir) === dir) return undefined;
  }
}

const readText = (path: string, what: string, variable: string): string => {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new InvalidInputError(`cannot read ${what} at ${path} (${variable}): ${(err as Error).message}`, { cause: err });
  }
};

/**
 * Credentials of a client, in this order:
 * - `REFIT_TLS_CA` (the CA file), else `REFIT_HOME`'s or the nearest `.refit/`'s `ca/ca.crt`;
 *   none at all: plaintext (a stack without TLS);
 * - a client certificate `REFIT_TLS_CERT` + `REFIT_TLS_KEY`, and/or a bearer token `REFIT_TOKEN`,
 *   else the file `REFIT_TOKEN_FILE`, else the `.refit/admin.token` next to the CA found.
 */
export function clientCredentialsFromEnv(env: NodeJS.ProcessEnv = process.env): ClientCredentialSource {
  const home = env.REFIT_HOME ? resolve(env.REFIT_HOME) : findRefitHome();
  const caPath = env.REFIT_TLS_CA || (home ? join(home, 'ca', 'ca.crt') : undefined);
  if (!caPath) return { description: 'plaintext, no credential (no REFIT_TLS_CA and no .refit/ folder found)' };
  const ca = readCaFile(caPath);
  const cert = env.REFIT_TLS_CERT ? Buffer.from(readText(env.REFIT_TLS_CERT, 'the client certificate', 'REFIT_TLS_CERT')) : undefined;
  const key = env.REFIT_TLS_KEY ? Buffer.from(readText(env.REFIT_TLS_KEY, 'the client key', 'REFIT_TLS_KEY')) : undefined;
  if (!!cert !== !!key) throw new InvalidInputError('give both REFIT_TLS_CERT and REFIT_TLS_KEY, or neither');
  let token = env.REFIT_TOKEN?.trim() || undefined;
  let tokenFrom = 'REFIT_TOKEN';
  if (!token && env.REFIT_TOKEN_FILE) {
    token = readText(env.REFIT_TOKEN_FILE, 'the token', 'REFIT_TOKEN_FILE');
    tokenFrom = env.REFIT_TOKEN_FILE;
  } else if (!token && !cert && home && existsSync(join(home, 'admin.token'))) {
    token = readText(join(home, 'admin.token'), 'the token', 'REFIT_HOME');
    tokenFrom = join(home, 'admin.token');
  }
  const who = cert ? `client certificate ${env.REFIT_TLS_CERT}` : token ? `token from ${tokenFrom}` : 'no credential';
  return { credentials: channelCredentials({ ca, cert, key, token }), description: `TLS (CA ${caPath}), ${who}` };
}
