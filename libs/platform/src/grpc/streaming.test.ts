import { create, createFileRegistry } from '@bufbuild/protobuf';
import type { GenService } from '@bufbuild/protobuf/codegenv2';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import { status } from '@grpc/grpc-js';
import {
  IngestionService,
  file_refit_trigger_v1_trigger,
  refitFiles,
  type GetRunRequestSchema,
  type GetRunResponseSchema,
  type ListRunsRequestSchema,
  type PushDataRequest,
  type RunSchema,
} from '@refit/contracts';
import { createHash } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { InvalidInputError, NotFoundError, isRefitError, type RefitError } from '../errors.js';
import { createClient } from './client.js';
import { implement, type ServiceHandlers } from './handlers.js';
import { createGrpcServer } from './server.js';
import { grpcCodeOf } from './status.js';
import type { GrpcLogger } from './types.js';
import { notImplemented } from './test-handlers.js';

const quietLogger = (): GrpcLogger & { errors: unknown[] } => {
  const errors: unknown[] = [];
  const noop = (): void => {};
  return { errors, debug: noop, info: noop, warn: noop, error: (obj) => void errors.push(obj) };
};

// Refit's protos have no server- or bidi-streaming method yet, so the tests declare one at run
// time, reusing the trigger service's messages.
const testFile = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: 'refit/test/v1/stream.proto',
    package: 'refit.test.v1',
    syntax: 'proto3',
    dependency: ['refit/trigger/v1/trigger.proto'],
    service: [
      {
        name: 'StreamService',
        method: [
          { name: 'WatchRuns', inputType: '.refit.trigger.v1.ListRunsRequest', outputType: '.refit.trigger.v1.Run', serverStreaming: true },
          { name: 'Echo', inputType: '.refit.trigger.v1.GetRunRequest', outputType: '.refit.trigger.v1.GetRunResponse', clientStreaming: true, serverStreaming: true },
        ],
      },
    ],
  }),
  (name) => (name === 'refit/trigger/v1/trigger.proto' ? file_refit_trigger_v1_trigger : undefined),
);

const StreamService = testFile.getService('refit.test.v1.StreamService') as unknown as GenService<{
  watchRuns: { methodKind: 'server_streaming'; input: typeof ListRunsRequestSchema; output: typeof RunSchema };
  echo: { methodKind: 'bidi_streaming'; input: typeof GetRunRequestSchema; output: typeof GetRunResponseSchema };
}>;

const ingestionHandlers = (seen: PushDataRequest[][], progress: { received: number }): ServiceHandlers<typeof IngestionService> => ({
  ...notImplemented(IngestionService),
  async pushData(requests) {
    const received: PushDataRequest[] = [];
    progress.received = 0;
    const hash = createHash('sha256');
    let rows = 0n;
    for await (const req of requests) {
      received.push(req);
      progress.received++;
      // A slow consumer, like one writing to the object store.
      if (progress.received % 32 === 0) await new Promise((r) => setTimeout(r, 5));
      if (received.length === 1 && req.part.case !== 'header') throw new InvalidInputError('the first message must be the header');
      if (req.part.case === 'header' && req.part.value.pipeline === 'unknown') throw new NotFoundError('pipeline unknown not found');
      if (req.part.case === 'chunk') {
        hash.update(req.part.value);
        rows += 1n;
      }
    }
    seen.push(received);
    return { batchId: 'b-1', rowsTotal: rows, rowsAccepted: rows, sha256: hash.digest('hex') };
  },
  async listBatches() {
    return {};
  },
  async listQuarantine() {
    return {};
  },
});

async function startIngestion(seen: PushDataRequest[][] = []) {
  const logger = quietLogger();
  const progress = { received: 0 };
  const handlers = ingestionHandlers(seen, progress);
  const server = await createGrpcServer({ service: 'ingestion', port: 0, logger, services: [implement(IngestionService, handlers)], files: refitFiles });
  const client = createClient(IngestionService, server.address);
  return {
    logger,
    client,
    progress,
    async [Symbol.asyncDispose]() {
      client.close();
      await server.stop(1_000);
    },
  };
}

const chunk = (i: number): Uint8Array => new TextEncoder().encode(`row ${i},${'x'.repeat(i % 50)}\n`);

describe('client streaming', () => {
  it('delivers a header then 1,000 chunks complete and in order', async () => {
    const seen: PushDataRequest[][] = [];
    await using t = await startIngestion(seen);
    async function* upload() {
      yield { part: { case: 'header' as const, value: { pipeline: 'churn', format: 'csv', filename: 'a.csv' } } };
      for (let i = 0; i < 1_000; i++) yield { part: { case: 'chunk' as const, value: chunk(i) } };
    }
    const expected = createHash('sha256');
    for (let i = 0; i < 1_000; i++) expected.update(chunk(i));
    const res = await t.client.pushData(upload());
    expect(res).toMatchObject({ batchId: 'b-1', rowsTotal: 1_000n, sha256: expected.digest('hex') });
    const [received] = seen;
    expect(received).toHaveLength(1_001);
    expect(received[0].part).toEqual({ case: 'header', value: expect.objectContaining({ pipeline: 'churn', filename: 'a.csv' }) });
    received.slice(1).forEach((r, i) => expect(r.part.value).toEqual(chunk(i)));
  });

  it('sends with backpressure: the source is read no faster than the server takes it', async () => {
    await using t = await startIngestion();
    const big = new Uint8Array(256 * 1024).fill(7);
    let maxLead = 0;
    async function* upload() {
      yield { part: { case: 'header' as const, value: { pipeline: 'churn' } } };
      // 64 MB in 256 KB chunks.
      for (let i = 1; i <= 256; i++) {
        maxLead = Math.max(maxLead, i - t.progress.received);
        yield { part: { case: 'chunk' as const, value: big } };
      }
    }
    const res = await t.client.pushData(upload());
    expect(res.rowsTotal).toBe(256n);
    // Without backpressure the whole file would be queued at once (a lead of ~256 chunks); with
    // it, the lead is bounded by the HTTP/2 window and the stream's buffer.
expect(maxLead).toBeLessThan(128);
  });

  it('accepts a plain iterable and reports a handler error with its code', async () => {
    await using t = await startIngestion();
    const e = await t.client.pushData([{ part: { case: 'chunk', value: chunk(1) } }]).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(InvalidInputError);
    expect((e as RefitError).message).toBe('the first message must be the header');
  });

  it('stops sending as soon as the server answers early', async () => {
    await using t = await startIngestion();
    const big = new Uint8Array(64 * 1024);
    let produced = 0;
    async function* upload() {
      yield { part: { case: 'header' as const, value: { pipeline: 'unknown' } } };
      // 6.4 GB if it were all sent.
      for (let i = 0; i < 100_000; i++) {
        produced++;
        yield { part: { case: 'chunk' as const, value: big } };
      }
    }
    await expect(t.client.pushData(upload())).rejects.toThrow(NotFoundError);
    expect(produced).toBeLessThan(1_000);
  });

  it('rejects with the source error when the source fails', async () => {
    await using t = await startIngestion();
    async function* failing() {
      yield { part: { case: 'header' as const, value: { pipeline: 'churn' } } };
      throw new Error('disk read failed');
    }
    await expect(t.client.pushData(failing())).rejects.toThrow('disk read failed');
  });
});

type Runs = { emitted: number; finished: boolean; aborted: boolean };

function streamHandlers(runs: Runs): ServiceHandlers<typeof StreamService> {
  return {
    async *watchRuns(req, ctx) {
      try {
        for (let i = 0; i < req.limit; i++) {
          if (req.pipeline === 'fail' && i === 3) throw new NotFoundError('pipeline fail vanished');
          if (req.pipeline === 'crash' && i === 3) throw new Error('secret internals');
          runs.emitted++;
          yield { runId: `run-${i}`, pipeline: req.pipeline, reason: 'y'.repeat(4_096) };
        }
      } finally {
        runs.finished = true;
        runs.aborted = ctx.signal.aborted;
      }
    },
    async *echo(requests) {
      for await (const req of requests) yield { run: { runId: req.runId.toUpperCase() } };
    },
  };
}

async function startStreams(runs: Runs) {
  const logger = quietLogger();
  const server = await createGrpcServer({ service: 'streams', port: 0, logger, services: [implement(StreamService, streamHandlers(runs))], files: refitFiles });
  const client = createClient(StreamService, server.address);
  return {
    logger,
    client,
    async [Symbol.asyncDispose]() {
      client.close();
      await server.stop(1_000);
    },
  };
}

describe('server streaming', () => {
  it('streams every message in order to a slow reader (backpressure)', async () => {
    const runs: Runs = { emitted: 0, finished: false, aborted: false };
    await using t = await startStreams(runs);
    const ids: string[] = [];
    let maxAhead = 0;
    for await (const run of t.client.watchRuns({ pipeline: 'churn', limit: 3_000 })) {
      ids.push(run.runId);
      maxAhead = Math.max(maxAhead, runs.emitted - ids.length);
      if (ids.length % 500 === 0) await new Promise((r) => setTimeout(r, 20));
    }
    expect(ids).toHaveLength(3_000);
    expect(ids.every((id, i) => id === `run-${i}`)).toBe(true);
    // 3,000 × 4 KB = 12 MB; the producer must have been held back well before the end.
expect(maxAhead).toBeLessThan(1_000);
    expect(runs).toMatchObject({ finished: true, aborted: false });
  });

  it('ends the stream with the mapped status after the messages already sent', async () => {
    const runs: Runs = { emitted: 0, finished: false, aborted: false };
    await using t = await startStreams(runs);
    const got: string[] = [];
    const err = await (async () => {
      for await (const run of t.client.watchRuns({ pipeline: 'fail', limit: 10 })) got.push(run.runId);
    })().catch((e: unknown) => e);
    expect(got).toEqual(['run-0', 'run-1', 'run-2']);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as RefitError).message).toBe('pipeline fail vanished');

    const crash = await (async () => {
      for await (const _ of t.client.watchRuns({ pipeline: 'crash', limit: 10 }));
    })().catch((e: unknown) => e);
    expect(isRefitError(crash) && grpcCodeOf(crash)).toBe(status.INTERNAL);
    expect((crash as Error).message).not.toContain('secret');
    expect(t.logger.errors).toHaveLength(1);
  });

  it('cancels the server side when the reader stops early', async () => {
    const runs: Runs = { emitted: 0, finished: false, aborted: false };
    await using t = await startStreams(runs);
    let n = 0;
    for await (const _ of t.client.watchRuns({ pipeline: 'churn', limit: 1_000_000 })) if (++n === 5) break;
    await vi.waitFor(() => expect(runs.finished).toBe(true));
    expect(runs.aborted).toBe(true);
    expect(runs.emitted).toBeLessThan(1_000_000);
  });
});

describe('bidi streaming', () => {
  it('echoes requests as they come', async () => {
    await using t = await startStreams({ emitted: 0, finished: false, aborted: false });
    const out: string[] = [];
    for await (const res of t.client.echo([{ runId: 'a' }, { runId: 'b' }, { runId: 'c' }])) out.push(res.run!.runId);
    expect(out).toEqual(['A', 'B', 'C']);
  });
});
