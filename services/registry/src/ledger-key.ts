import { createSecretKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { FailedPreconditionError, InvalidInputError } from '@refit/platform';

/** The secret the ledger's MACs and checkpoints are computed with; the database never holds it. */
export type LedgerKey = KeyObject;

/** Fewest bytes a ledger key file may hold: 256 bits, the HMAC-SHA256 block strength. */
export const LEDGER_KEY_MIN_BYTES = 32;

/**
 * The ledger key made of `bytes` (the whole content of the key file, as is).
 *
 * @param source - where the bytes came from, for the error message.
 * @throws InvalidInputError when there are fewer than {@link LEDGER_KEY_MIN_BYTES} bytes.
 */
export function ledgerKeyFrom(bytes: Uint8Array, source: string): LedgerKey {
  if (bytes.length < LEDGER_KEY_MIN_BYTES) {
    throw new InvalidInputError(
      `REFIT_LEDGER_KEY file ${source} holds ${bytes.length} bytes; the ledger key needs at least ${LEDGER_KEY_MIN_BYTES} random bytes (e.g. head -c 32 /dev/urandom > ledger.key)`,
      { details: { variable: 'REFIT_LEDGER_KEY', file: source, bytes: bytes.length } },
    );
  }
  return createSecretKey(bytes);
}

/**
 * Reads the ledger key from the file named by `REFIT_LEDGER_KEY` (mounted from a secret).
 *
 * @throws FailedPreconditionError when the file cannot be read; InvalidInputError when it is too short.
 */
export async function readLedgerKey(path: string): Promise<LedgerKey> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new FailedPreconditionError(`cannot read the ledger key file ${path} (REFIT_LEDGER_KEY): ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
  return ledgerKeyFrom(bytes, path);
}
