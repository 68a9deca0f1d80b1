import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Folders of `.sql` migrations written by a test, all under one temporary folder. */
export interface MigrationFolders {
  /** A new folder holding `files` (name → SQL), e.g. `{ '001_t.sql': 'CREATE TABLE t (v text);' }`. */
  write(files: Record<string, string>): Promise<string>;
  /** Removes every folder written. */
  remove(): Promise<void>;
}

/** Starts a set of migration folders under a fresh temporary folder named after `prefix`. */
export async function createMigrationFolders(prefix: string): Promise<MigrationFolders> {
  const root = await mkdtemp(join(tmpdir(), `refit-${prefix}-`));
  return {
    async write(files) {
      const d = await mkdtemp(join(root, 'm-'));
      for (const [name, sql] of Object.entries(files)) await writeFile(join(d, name), sql);
      return d;
    },
    remove: () => rm(root, { recursive: true, force: true }),
  };
}
