import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { headers as natsHeaders } from 'nats';
import { IngestionService, StreamRowSchema } from '@refit/contracts';
import { connectNats, createClient, EVENTS, isNotFound, withTransaction, type ServiceRuntime } from '@refit/platform';
import { parseSpec } from '@refit/spec';
import { createTestEnv, readEvents, serviceEnv, startTestRuntime, waitFor, type TestEnv } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type IngestionConfig } from './config.js';
import { startIngestionService } from './service.js';
import { getPipelineSpec, listQuarantine } from './store.js';
import { streamNameOf } from './stream-jetstream.js';
import type { StreamHooks } from './stream-source.js';
import { getStreamSource, listSegments } from './stream-store.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const migrations = fileURLToPath(new URL('./migrations', import.meta.url));
const rain = readFileSync(join(here, '../../../examples/weather-rain.yaml'), 'utf8');

/** The weather-rain spec under another name, reading rows from `subject`. */
const streamSpec = (name: string, subject: string, segment = '{ maxRows: 50, maxSeconds: 0.3 }'): string =>
  rain.replace(/^name: weather-rain$/m, `name: ${name}`).replace('  window: { lastBatches: 1 }', `  window: { lastBatches: 1 }\n  source: { stream: { subject: ${subject}, segment: ${segment} } }`);

const row = (id: string, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ id, location: 'Seattle', date: '2012-01-01', temp_max: 10, temp_min: 5, wind: 3, weather: 'rain', ...extra });
const label = (id: string, value: unknown = 1.5): string => JSON.stringify({ id, label: value });

describe('stream source', () => {
  let env: TestEnv;
  let config: Readonly<IngestionConfig>;
  let rt: ServiceRuntime;
  const hooks: { before?: StreamHooks['beforeCommit']; after?: StreamHooks['afterCommit'] } = {};
  const streamHooks: StreamHooks = {
    beforeCommit: (p, s) => hooks.before?.(p, s) ?? Promise.resolve(),
    afterCommit: (p, s) => hooks.after?.(p, s) ?? Promise.resolve(),
  };
  const pipelines: string[] = [];

  async function start(): Promise<void> {
    rt = await startTestRuntime(config, migrations);
    await startIngestionService(rt, config, { streamHooks });
  }

  /** Applies a spec as the trigger announces it, and waits until its source reads. */
  async function apply(yaml: string): Promise<string> {
    const spec = parseSpec(yaml);
    pipelines.push(spec.name);
    await withTransaction(rt.pool, (tx) => rt.publish(tx, EVENTS.pipelineApplied, { pipeline: spec.name, version: 1, specJson: JSON.stringify(spec) }));
    rt.relay.kick();
    await waitFor(async () => (await getPipelineSpec(rt.pool, spec.name)) !== undefined, { what: `pipeline ${spec.name} stored` });
    await waitFor(async () => (await getStreamSource(rt.pool, spec.name)) !== undefined, { what: `stream source of ${spec.name} started` });
    return spec.name;
  }

  /** Publishes messages in order (pipelined), each acknowledged by the stream. */
  async function publish(subject: string, payloads: Array<string | Uint8Array>, protobuf = false): Promise<void> {
    const js = rt.nc.jetstream();
    const h = protobuf ? natsHeaders() : undefined;
    h?.set('Content-Type', 'application/protobuf');
    await Promise.all(payloads.map((p) => js.publish(subject, typeof p === 'string' ? Buffer.from(p) : p, h ? { headers: h } : undefined)));
  }

  /** Every committed segment's rows and labeled rows, read back from the object store. */
  async function persisted(pipeline: string) {
    const segments = await listSegments(rt.pool, pipeline);
    const lines = async (key: string | null): Promise<Array<Record<string, unknown>>> =>
      key
        ? (await rt.store.get(key))
            .toString('utf8')
            .split('\n')
            .filter((l) => l !== '')
            .map((l) => JSON.parse(l) as Record<string, unknown>)
        : [];
    const rows: Array<Record<string, unknown>> = [];
    const labeled: Array<Record<string, unknown>> = [];
    for (const s of segments) {
      const r = await lines(s.rows_key);
      expect(r).toHaveLength(s.rows_accepted);
      rows.push(...r);
      const l = await lines(s.labeled_key);
      expect(l).toHaveLength(s.labels_joined);
      labeled.push(...l);
    }
    return { segments, rows, labeled };
  }

  const totals = async (pipeline: string) => {
    const s = await getStreamSource(rt.pool, pipeline);
    return s ? { rows: Number(s.rows_accepted), rowsQ: Number(s.rows_quarantined), labels: Number(s.labels_joined), labelsQ: Number(s.labels_quarantined) } : undefined;
  };

  const segmentEvents = async (pipeline: string) =>
    (await readEvents(rt.nc, { stream: env.streamName, subject: `${env.subjectPrefix}.${EVENTS.streamSegment.name}` }))
      .map((e) => fromBinary(EVENTS.streamSegment.schema, e.data))
      .filter((e) => e.pipeline === pipeline);

  beforeAll(async () => {
    env = await createTestEnv({ name: 'stream-source' });
    config = loadConfig(
      serviceEnv(env.env, { REFIT_STREAM_SCAN_MS: '200', REFIT_STREAM_LEASE_TTL_MS: '1500', REFIT_STREAM_ORPHAN_LABEL_WAIT_MS: '500', REFIT_STREAM_MAX_MESSAGE_BYTES: '4096', REFIT_STREAM_MAX_MESSAGES: '1000' }),
    );
    await start();
  });
  afterAll(async () => {
    await rt?.close();
    if (env) {
      // The pipelines' own streams are not the env's: removed here, once nothing reads them.
      const nc = await connectNats({ url: env.natsUrl, name: 'stream-source-test-cleanup' });
      const jsm = await nc.jetstreamManager();
      for (const p of pipelines) await jsm.streams.delete(streamNameOf(env.streamName, p)).catch(() => undefined);
      await nc.close();
    }
    await env?.cleanup();
  });

  it('persists rows and joined labels in numbered segments, quarantines bad ones with reasons, and emits stream.segment once per segment', async () => {
    const subject = `st_${env.id}.rows`;
    const pipeline = await apply(streamSpec('rain-stream', subject));
    // A label that overtakes its row, then rows (one as a StreamRow), then labels.
    await publish(`${subject}.labels`, [label('r119', 0)]);
    const good = Array.from({ length: 118 }, (_, i) => row(`r${i}`));
    await publish(subject, good);
    const pb = create(StreamRowSchema, { id: 'r118', at: timestampFromDate(new Date('2024-05-01T00:00:00Z')), values: { location: 'Seattle', date: '2012-01-02', temp_max: 11, temp_min: 4, wind: 2, weather: 'sun' } });
    await publish(subject, [toBinary(StreamRowSchema, pb)], true);
    await publish(subject, [
      '{"id": "bad-json", ',
      row('', {}),
      row('x'.repeat(257)),
      row('hot', { temp_max: 'hot' }),
      row('r1'),
      row('r119'),
    ]);
    // Past REFIT_STREAM_MAX_MESSAGE_BYTES the stream itself refuses the publisher.
    await expect(publish(subject, [JSON.stringify({ id: 'big', pad: 'x'.repeat(5000) })])).rejects.toThrow(/size/);
    await publish(`${subject}.labels`, [...Array.from({ length: 60 }, (_, i) => label(`r${i}`)), label('r2', 3), label('r61', -3), label('ghost'), '{"id":"r62"}']);
    // More rows later: their segment gives up the label whose row never came.
    await waitFor(async () => (await totals(pipeline))?.labels === 61, { what: 'labels joined' });
    await publish(subject, [row('late-1'), row('late-2')]);
    await waitFor(async () => (await totals(pipeline))?.labelsQ === 4, { what: 'labels quarantined' });

    expect(await totals(pipeline)).toEqual({ rows: 122, rowsQ: 5, labels: 61, labelsQ: 4 });
    const { segments, rows, labeled } = await persisted(pipeline);
    expect(segments.map((s) => Number(s.segment))).toEqual(segments.map((_, i) => i + 1));
    expect(segments.length).toBeGreaterThanOrEqual(3);
    expect(rows.map((r) => r.id).sort()).toEqual([...good.map((g) => (JSON.parse(g) as { id: string }).id), 'r118', 'r119', 'late-1', 'late-2'].sort());
    expect(rows.find((r) => r.id === 'r118')).toMatchObject({ at: '2024-05-01T00:00:00.000Z', row: { temp_max: 11, weather: 'sun' } });
    expect(new Set(labeled.map((l) => l.id)).size).toBe(61);
    expect(labeled.find((l) => l.id === 'r119')).toMatchObject({ label: 0, row: { temp_max: 10 } });
    expect(labeled.find((l) => l.id === 'r5')).toMatchObject({ label: 1.5, row: { location: 'Seattle', temp_min: 5 } });

    const q = await listQuarantine(rt.pool, pipeline, undefined, 100);
    const reasons = q.map((e) => e.message).join('\n');
    expect(reasons).toMatch(/not valid JSON/);
    expect(reasons).toMatch(/has no 'id'/);
    expect(reasons).toMatch(/over the limit of 256/);
    expect(reasons).toMatch(/column 'temp_max': expected a number/);
    expect(reasons).toMatch(/id 'r1' already names (the row|a row awaiting its label)/);
    expect(reasons).toMatch(/row with id 'r2' was labeled already/);
    expect(reasons).toMatch(/column 'precipitation': -3 is below the minimum 0/);
    expect(reasons).toMatch(/no row with id 'ghost' arrived/);
    expect(reasons).toMatch(/has no 'label'/);
    expect(q.every((e) => e.batch_id.startsWith('stream-segment-'))).toBe(true);

    const events = await waitFor(async () => {
      const evs = await segmentEvents(pipeline);
      return evs.length === segments.length ? evs : undefined;
    }, { what: 'one stream.segment event per segment' });
    expect(events.map((e) => Number(e.segment)).sort((a, b) => a - b)).toEqual(segments.map((s) => Number(s.segment)));
    expect(events.reduce((n, e) => n + Number(e.rowsAccepted), 0)).toBe(122);
    expect(events.every((e) => e.rows?.key && e.specVersion === 1 && (JSON.parse(e.specJson) as { name?: string }).name === pipeline)).toBe(true);
  });

  it('refuses publishers when the stream is full, answers GetStreamStats with totals and lag, and NOT_FOUND for a pipeline without a stream source', async () => {
    const subject = `st_${env.id}.lag`;
    const pipeline = await apply(streamSpec('rain-lag', subject, '{ maxRows: 10, maxSeconds: 0.2 }'));
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    let blocked = false;
    hooks.before = async (p) => {
      if (p !== pipeline) return;
      blocked = true;
      await gate;
    };
    const client = createClient(IngestionService, rt.server?.address ?? '');
    try {
      await publish(subject, Array.from({ length: 10 }, (_, i) => row(`a${i}`)));
      await waitFor(() => blocked, { what: 'a segment waiting to commit' });
      await publish(subject, Array.from({ length: 25 }, (_, i) => row(`b${i}`)));
      const held = await waitFor(async () => {
        const s = await client.getStreamStats({ pipeline });
        return s.lag >= 25n ? s : undefined;
      }, { what: 'lag reported' });
      expect(held).toMatchObject({ pipeline, subject, labelsSubject: `${subject}.labels`, segments: 0n });
      // Nothing persisted, nothing purged: past REFIT_STREAM_MAX_MESSAGES the stream refuses publishers.
      const js = rt.nc.jetstream();
      const sent = await Promise.allSettled(Array.from({ length: 1000 }, (_, i) => js.publish(subject, Buffer.from(row(`c${i}`)))));
      const taken = sent.filter((r) => r.status === 'fulfilled').length;
      expect(taken).toBe(1000 - 35);
      release();
      hooks.before = undefined;
      const done = await waitFor(async () => {
        const s = await client.getStreamStats({ pipeline });
        return s.rowsAccepted === BigInt(35 + taken) && s.lag === 0n ? s : undefined;
      }, { what: 'the backlog persisted' });
      expect(done.segments).toBeGreaterThanOrEqual(4n);
      expect(done.rowsAwaitingLabel).toBe(BigInt(35 + taken));
      expect(done.rowsPerSecond).toBeGreaterThan(0);
      expect(done.lastSegmentAt).toBeDefined();

      const plain = parseSpec(rain.replace(/^name: weather-rain$/m, 'name: rain-plain'));
      await withTransaction(rt.pool, (tx) => rt.publish(tx, EVENTS.pipelineApplied, { pipeline: plain.name, version: 1, specJson: JSON.stringify(plain) }));
      rt.relay.kick();
      await waitFor(async () => (await getPipelineSpec(rt.pool, plain.name)) !== undefined, { what: 'plain pipeline stored' });
      const err = await client.getStreamStats({ pipeline: 'rain-plain' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isNotFound(err)).toBe(true);
      expect((err as Error).message).toMatch(/has no stream source: declare data\.source\.stream/);
    } finally {
      release();
      hooks.before = undefined;
      client.close();
    }
  });

  it('loses nothing and doubles nothing when it stops before or after a segment commit and starts again', async () => {
    const subject = `st_${env.id}.restart`;
    const pipeline = await apply(streamSpec('rain-restart', subject, '{ maxRows: 40, maxSeconds: 0.3 }'));
    const crash = (at: 'before' | 'after', segment: number): Promise<void> =>
      new Promise((reached) => {
        hooks[at] = async (p, s) => {
          if (p !== pipeline || s !== segment) return;
          hooks[at] = undefined;
          reached();
          throw new Error(`crash ${at} the commit of segment ${s}`);
        };
      });

    // Objects written, no commit: the same messages come again and make segment 2.
    const beforeCommit = crash('before', 2);
    await publish(subject, Array.from({ length: 100 }, (_, i) => row(`k${i}`)));
    await publish(`${subject}.labels`, Array.from({ length: 50 }, (_, i) => label(`k${i * 2}`)));
    await beforeCommit;
    await rt.close();
    await start();
    // Committed, not acknowledged: the messages come again and are skipped.
    const afterCommit = crash('after', 4);
    await publish(subject, Array.from({ length: 100 }, (_, i) => row(`m${i}`)));
    await publish(`${subject}.labels`, Array.from({ length: 100 }, (_, i) => label(`m${i}`, 0)));
    await afterCommit;
    await rt.close();
    await start();
    await publish(subject, Array.from({ length: 20 }, (_, i) => row(`n${i}`)));

    await waitFor(async () => {
      const t = await totals(pipeline);
      return t?.rows === 220 && t.labels === 150;
    }, { what: 'every row and label persisted' });
    const { segments, rows, labeled } = await persisted(pipeline);
    expect(segments.map((s) => Number(s.segment))).toEqual(segments.map((_, i) => i + 1));
    for (let i = 1; i < segments.length; i++) expect(Number(segments[i].first_sequence)).toBeGreaterThan(Number(segments[i - 1].last_sequence));
    const ids = rows.map((r) => r.id as string);
    expect(ids).toHaveLength(220);
    expect(new Set(ids).size).toBe(220);
    const labeledIds = labeled.map((l) => l.id as string);
    expect(labeledIds).toHaveLength(150);
    expect(new Set(labeledIds).size).toBe(150);
    expect(await totals(pipeline)).toEqual({ rows: 220, rowsQ: 0, labels: 150, labelsQ: 0 });
    const events = await waitFor(async () => {
      const evs = await segmentEvents(pipeline);
      return evs.length === segments.length ? evs : undefined;
    }, { what: 'one stream.segment event per segment' });
    expect(new Set(events.map((e) => Number(e.segment))).size).toBe(segments.length);
  });

  it('reads a stream that was deleted and created again from its start', async () => {
    const subject = `st_${env.id}.again`;
    const pipeline = await apply(streamSpec('rain-again', subject, '{ maxRows: 5, maxSeconds: 0.2 }'));
    await publish(subject, Array.from({ length: 12 }, (_, i) => row(`g${i}`)));
    await waitFor(async () => (await totals(pipeline))?.rows === 12, { what: 'the first rows persisted' });
    await rt.close();
    const nc = await connectNats({ url: env.natsUrl, name: 'stream-source-test' });
    await (await nc.jetstreamManager()).streams.delete(streamNameOf(env.streamName, pipeline));
    await nc.close();
    await start();
    await waitFor(async () => (await rt.nc.jetstreamManager()).streams.info(streamNameOf(env.streamName, pipeline)).then(() => true), { what: 'the stream created again' });
    await publish(subject, Array.from({ length: 3 }, (_, i) => row(`h${i}`)));
    await waitFor(async () => (await totals(pipeline))?.rows === 15, { what: 'the rows of the new stream persisted' });
    const { segments, rows } = await persisted(pipeline);
    expect(segments.map((s) => Number(s.segment))).toEqual(segments.map((_, i) => i + 1));
    expect(rows.map((r) => r.id)).toHaveLength(15);
  });

  it('a run takes the labeled stream rows in as a batch of their own before its snapshot, each row once', async () => {
    const subject = `st_${env.id}.batch`;
    const pipeline = await apply(streamSpec('rain-batch', subject, '{ maxRows: 100, maxSeconds: 0.2 }'));
    const ids = Array.from({ length: 40 }, (_, i) => `b${i}`);
    await publish(subject, ids.map((id, i) => row(id, { date: `2012-02-${String((i % 28) + 1).padStart(2, '0')}`, temp_max: 5 + (i % 17), wind: 1 + (i % 5) })));
    // Three of the forty never get their label: they are no training rows.
    await publish(`${subject}.labels`, ids.slice(0, 37).map((id, i) => label(id, i % 3 === 0 ? 0 : 2.5)));
    await waitFor(async () => ((await totals(pipeline))?.labels === 37 ? true : undefined), { what: '37 labels joined' });
    const spec = parseSpec(streamSpec('rain-batch', subject, '{ maxRows: 100, maxSeconds: 0.2 }'));
    const prepared = async (runId: string) => {
      await withTransaction(rt.pool, (tx) => rt.publish(tx, EVENTS.runRequested, { context: { runId, pipeline, specVersion: 1, specJson: JSON.stringify(spec), triggerKind: 'manual' } }, { runId }));
      rt.relay.kick();
      return waitFor(async () => {
        const evs = await readEvents(rt.nc, { stream: env.streamName, subject: `${env.subjectPrefix}.${EVENTS.datasetPrepared.name}` });
        return evs.map((e) => fromBinary(EVENTS.datasetPrepared.schema, e.data)).find((e) => e.context?.runId === runId);
      }, { timeoutMs: 60_000, what: `dataset.prepared of ${runId}` });
    };
    const first = await prepared('r-stream-batch-1');
    const l = first.lineage;
    expect(Number((l?.rowsTrain ?? 0n) + (l?.rowsValidation ?? 0n) + (l?.rowsTest ?? 0n))).toBe(37);
    const batches = (await rt.pool.query<{ source: string; rows_accepted: number }>(`select source, rows_accepted::int as rows_accepted from batches where pipeline = $1`, [pipeline])).rows;
    expect(batches).toEqual([{ source: 'stream', rows_accepted: 37 }]);
    // A second run finds nothing new on the stream: no second batch.
    await prepared('r-stream-batch-2');
    expect((await rt.pool.query(`select count(*)::int as n from batches where pipeline = $1`, [pipeline])).rows[0].n).toBe(1);
  });
});
