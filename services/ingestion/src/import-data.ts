import type { ImportDataRequest } from '@refit/contracts';
import { createArtifactStore, InvalidInputError, type ArtifactStore } from '@refit/platform';
import type { PipelineSpec } from '@refit/spec';
import { resolvePgImport, resolveS3Import } from './import-access.js';
import type { ChampionCheck } from './champion-check.js';
import type { ImportSources } from './import-sources.js';
import { pgChunks } from './sources.js';
import { getWatermark, type Watermark } from './store.js';
import { ingest, type IngestDeps, type PushResult } from './upload.js';

/** What an import answers: the batch recorded, or where an incremental source stands when nothing was new. */
export type ImportResult = PushResult | { status: 'unchanged'; watermark: string; warnings: string[] };

/**
 * `csv` or `jsonl`: as asked, else from the name (`.jsonl`/`.json` → jsonl), else csv; anything
 * else is refused. Pushes and imports read their format the same way.
 */
export function formatOf(format: string, name = ''): 'csv' | 'jsonl' {
  const f = format || (/\.jsonl?$/i.test(name) ? 'jsonl' : 'csv');
  if (f !== 'csv' && f !== 'jsonl') throw new InvalidInputError(`format '${f}' is not supported; use csv or jsonl`);
  return f;
}

/** The chunks, or undefined when there are none with bytes (an incremental source with nothing new). */
async function nonEmpty(chunks: AsyncIterable<Uint8Array>): Promise<AsyncIterable<Uint8Array> | undefined> {
  const it = chunks[Symbol.asyncIterator]();
  let first = await it.next();
  while (!first.done && first.value.length === 0) first = await it.next();
  if (first.done) return undefined;
  const head = first.value;
  return (async function* () {
    yield head;
    for (let n = await it.next(); !n.done; n = await it.next()) yield n.value;
  })();
}

/**
 * The ImportData work: reads only a declared source (see import-access.ts) and ingests it like a
 * push (`checkChampion` included). Each declared S3 source gets one client, made here once, with
 * its own endpoint and keys.
 */
export function createImporter({ rt, sources, platformBucket, checkChampion }: { rt: IngestDeps; sources: ImportSources; platformBucket: string; checkChampion?: ChampionCheck }) {
  const stores = new Map<string, ArtifactStore>(sources.s3.map((s) => [s.name, createArtifactStore(s.s3)]));

  return async function importData(spec: PipelineSpec, req: Pick<ImportDataRequest, 'source' | 'format'>, signal?: AbortSignal): Promise<ImportResult> {
    if (req.source.case === 's3Uri') {
      const uri = req.source.value;
      const { source, key } = resolveS3Import(sources, platformBucket, uri);
      const store = stores.get(source.name) as ArtifactStore;
      const chunks = (await store.getStream(key)) as AsyncIterable<Uint8Array>;
      return ingest(rt, spec, { format: formatOf(req.format, key), filename: uri, source: 'import' }, chunks, signal, checkChampion);
    }
    if (req.source.case === 'postgres') {
      const imp = resolvePgImport(sources, req.source.value);
      const after = imp.watermark ? await getWatermark(rt.pool, spec.name, imp.sourceKey) : undefined;
      const read = pgChunks(imp, after);
      const chunks = await nonEmpty(read.chunks);
      if (!chunks) {
        // Nothing past the watermark: no batch, and the answer says where the source stands.
        return { status: 'unchanged', watermark: after ?? '', warnings: [`no rows past the watermark ${after ?? '(none yet)'}`] };
      }
      const watermark = (): Watermark | undefined => {
        const v = read.done();
        return v === undefined || !imp.watermark ? undefined : { source: imp.sourceKey, value: v, after };
      };
      return ingest(rt, spec, { format: 'jsonl', filename: `${imp.label}${after ? ` after ${after}` : ''}`, watermark, source: 'import' }, chunks, signal, checkChampion);
    }
    throw new InvalidInputError('give a source: s3_uri (of a declared S3 source) or postgres (a declared connection)');
  };
}
