import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { Client as GrpcJsClient, credentials, status, type ServiceError } from '@grpc/grpc-js';
import { ModelVersionSchema, RegistryService, TriggerService, Verdict, refitFiles, type ModelVersion } from '@refit/contracts';
import type { Logger as PinoLogger } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { ConflictError, InvalidInputError, NotFoundError, RefitError, UnavailableError, isNotFound, isRefitError } from '../errors.js';
import { callOptionsFrom, createClient } from './client.js';
import { implement, type ServiceHandlers } from './handlers.js';
import { createGrpcServer } from './server.js';
import { ERROR_DETAILS_KEY, grpcCodeOf, isDeadlineExceeded, REQUEST_ID_KEY } from './status.js';
import type { CallContext, GrpcLogger } from './types.js';
import { notImplemented } from './test-handlers.js';

type Line = { level: string; obj: Record<string, unknown>; msg?: string };

function memoryLogger(): GrpcLogger & { lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: string) => (obj: object, msg?: string) => void lines.push({ level, obj: obj as Record<string, unknown>, msg });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

// A pino logger must be accepted as is (type-level check only).
const _pinoFits = (l: PinoLogger): GrpcLogger => l;

const models: ModelVersion[] = [
  create(ModelVersionSchema, {
    pipeline: 'churn',
    version: 'v1',
    runId: 'run-1',
    createdAt: timestampFromDate(new Date('2024-05-01T10:00:00Z')),
    verdict: Verdict.PASS,
    reasons: ['auc 0.91 ≥ 0.85'],
    metrics: { auc: 0.91, logloss: 0.31 },
    aliases: ['champion'],
    lineage: { seed: 42n, featureNames: ['tenure', 'plan'], model: { bucket: 'models', key: 'churn/v1', sizeBytes: 1234n } },
  }),
];


/** Everything the tests need to observe inside the handlers. */
type Probe = { ctx?: CallContext; aborted?: Promise<unknown> };

function registryHandlers(probe: Probe): ServiceHandlers<typeof RegistryService> {
  return {
    ...notImplemented(RegistryService),
    async getModel(req, ctx) {
      probe.ctx = ctx;
      if (req.version === 'boom') throw new Error('password=hunter2 in the connection string');
      if (req.version === 'slow') {
        probe.aborted = new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve(ctx.signal.reason)));
        await probe.aborted;
        throw new Error('aborted');
      }
      const model = models.find((m) => m.pipeline === req.pipeline && m.version === req.version);
      if (!model) throw new NotFoundError(`model ${req.pipeline}/${req.version} not found`, { details: { pipeline: req.pipeline, version: req.version } });
      return { model };
    },
    listModels(req) {
      // A handler may answer synchronously and with an init object.
      return { models: models.filter((m) => m.pipeline === req.pipeline) };
    },
    async getAlias(req) {
      if (req.alias === 'taken') throw new ConflictError('alias moved concurrently', { details: { line: 3, column: 7, note: 'üñí' } });
      if (req.alias === '') throw new InvalidInputError('alias is required');
      throw new UnavailableError('database unreachable');
    },
  };
}

async function startRegistry(probe: Probe = {}) {
  const logger = memoryLogger();
  const server = await createGrpcServer({
    service: 'registry',
    port: 0,
    logger,
    services: [implement(RegistryService, registryHandlers(probe))],
    files: refitFiles,
  });
  const client = createClient(RegistryService, server.address);
  return {
    logger,
    server,
    client,
    async [Symbol.asyncDispose]() {
      client.close();
      await server.stop(1_000);
    },
  };
}

async function rejection(p: Promise<unknown>): Promise<RefitError> {
  try {
    await p;
  } catch (e) {
    if (isRefitError(e)) return e;
    throw e;
  }
  throw new Error('expected the call to fail');
}

describe('unary calls', () => {
  it('round-trips a generated service with well-known types, maps, int64 and enums', async () => {
    await using t = await startRegistry();
    expect(t.server.port).toBeGreaterThan(0);
    expect(t.server.address).toBe(`127.0.0.1:${t.server.port}`);
    const res = await t.client.getModel({ pipeline: 'churn', version: 'v1' });
    expect(res.$typeName).toBe('refit.registry.v1.GetModelResponse');
    expect(res.model).toEqual(models[0]);
    expect(res.model?.lineage?.seed).toBe(42n);
    const list = await t.client.listModels({ pipeline: 'churn' });
    expect(list.models.map((m) => m.version)).toEqual(['v1']);
    expect(t.logger.lines.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('gives the handler metadata, deadline, peer, method and request id', async () => {
    const probe: Probe = {};
    await using t = await startRegistry(probe);
    const before = Date.now();
    await t.client.getModel({ pipeline: 'churn', version: 'v1' }, { timeoutMs: 5_000, metadata: { 'x-team': 'ml', [REQUEST_ID_KEY]: 'req-42' } });
    const ctx = probe.ctx!;
    expect(ctx.metadata.get('x-team')).toEqual(['ml']);
    expect(ctx.method).toBe('/refit.registry.v1.RegistryService/GetModel');
    expect(ctx.peer).toMatch(/127\.0\.0\.1/);
    expect(ctx.requestId).toBe('req-42');
    expect(ctx.signal.aborted).toBe(false);
    // grpc-timeout is sent with millisecond resolution, so allow a little slack.
    expect(ctx.deadline!.getTime()).toBeGreaterThanOrEqual(before + 4_900);
    expect(ctx.deadline!.getTime()).toBeLessThanOrEqual(Date.now() + 5_100);
  });

  it('defaults the deadline to 30 s and a fresh request id', async () => {
    const probe: Probe = {};
    await using t = await startRegistry(probe);
    await t.client.getModel({ pipeline: 'churn', version: 'v1' });
    expect(probe.ctx!.deadline!.getTime() - Date.now()).toBeGreaterThan(29_000);
    expect(probe.ctx!.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('lets a handler pass its deadline, cancellation and request id on to outbound calls', () => {
    const ac = new AbortController();
    const deadline = new Date(Date.now() + 1_000);
    const opts = callOptionsFrom({ deadline, signal: ac.signal, requestId: 'r-1' } as CallContext);
    expect(opts).toEqual({ deadline, signal: ac.signal, metadata: { [REQUEST_ID_KEY]: 'r-1' } });
  });
});

describe('errors across the wire', () => {
  it('turns NotFoundError into NOT_FOUND and back, with message and details', async () => {
    await using t = await startRegistry();
    const e = await rejection(t.client.getModel({ pipeline: 'churn', version: 'v9' }));
    expect(e).toBeInstanceOf(NotFoundError);
    expect(isNotFound(e)).toBe(true);
    expect(e.message).toBe('model churn/v9 not found');
    expect(e.details).toEqual({ pipeline: 'churn', version: 'v9' });
    expect(grpcCodeOf(e)).toBe(status.NOT_FOUND);
    expect(e).toMatchObject({ grpcMethod: '/refit.registry.v1.RegistryService/GetModel' });
    // A client-side mistake is not worth an error log on the server.
    expect(t.logger.lines.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('maps conflict → ALREADY_EXISTS, invalid input → INVALID_ARGUMENT, unavailable → UNAVAILABLE', async () => {
    await using t = await startRegistry();
    const conflict = await rejection(t.client.getAlias({ pipeline: 'churn', alias: 'taken' }));
    expect(conflict).toBeInstanceOf(ConflictError);
    expect(grpcCodeOf(conflict)).toBe(status.ALREADY_EXISTS);
    expect(conflict.details).toEqual({ line: 3, column: 7, note: 'üñí' });
    const invalid = await rejection(t.client.getAlias({ pipeline: 'churn', alias: '' }));
    expect(invalid).toBeInstanceOf(InvalidInputError);
    expect(invalid.message).toBe('alias is required');
    const unavailable = await rejection(t.client.getAlias({ pipeline: 'churn', alias: 'champion' }));
    expect(unavailable).toBeInstanceOf(UnavailableError);
    expect(grpcCodeOf(unavailable)).toBe(status.UNAVAILABLE);
    expect(unavailable.message).toBe('database unreachable');
    expect(t.logger.lines.some((l) => l.level === 'warn')).toBe(true);
  });

  it('hides an unexpected error behind INTERNAL and logs it with the request id', async () => {
    await using t = await startRegistry();
    const e = await rejection(t.client.getModel({ pipeline: 'churn', version: 'boom' }, { metadata: { [REQUEST_ID_KEY]: 'req-boom' } }));
    expect(grpcCodeOf(e)).toBe(status.INTERNAL);
    expect(e.kind).toBe('internal');
    expect(e.message).toBe('internal error (see the registry log, request id req-boom)');
    expect(e.message).not.toContain('hunter2');
    const logged = t.logger.lines.filter((l) => l.level === 'error');
    expect(logged).toHaveLength(1);
    expect(logged[0].obj).toMatchObject({ requestId: 'req-boom', method: '/refit.registry.v1.RegistryService/GetModel' });
    expect((logged[0].obj.err as Error).message).toContain('hunter2');
  });

  it('answers an undecodable request with INVALID_ARGUMENT', async () => {
    await using t = await startRegistry();
    const raw = new GrpcJsClient(t.server.address, credentials.createInsecure());
    try {
      const err = await new Promise<ServiceError | null>((resolve) => {
        // Field 1 (string) claims 5 bytes but only 1 follows.
        const bytes = Buffer.from([0x0a, 0x05, 0x41]);
        raw.makeUnaryRequest('/refit.registry.v1.RegistryService/GetModel', (b: Buffer) => b, (b: Buffer) => b, bytes, (e) => resolve(e));
      });
      expect(err?.code).toBe(status.INVALID_ARGUMENT);
      expect(err?.details).toMatch(/^cannot decode refit\.registry\.v1\.GetModelRequest/);
    } finally {
      raw.close();
    }
  });

  it('sends no details trailer when there are none', async () => {
    await using t = await startRegistry();
    const e = await rejection(t.client.getAlias({ pipeline: 'churn', alias: '' }));
    expect(e.details).toBeUndefined();
    expect(((e.cause as ServiceError).metadata.get(ERROR_DETAILS_KEY))).toEqual([]);
  });
});

describe('deadlines and cancellation', () => {
  it('fails with an UnavailableError (DEADLINE_EXCEEDED) and aborts the handler', async () => {
    const probe: Probe = {};
    await using t = await startRegistry(probe);
    const started = Date.now();
    const e = await rejection(t.client.getModel({ pipeline: 'churn', version: 'slow' }, { timeoutMs: 150 }));
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(e).toBeInstanceOf(UnavailableError);
    expect(isDeadlineExceeded(e)).toBe(true);
    expect(e.permanent).toBe(false);
    expect(await probe.aborted).toBeInstanceOf(UnavailableError);
    expect(probe.ctx!.signal.aborted).toBe(true);
    // The handler's late failure is not an error worth logging: the caller is gone.
    expect(t.logger.lines.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('uses the earlier of deadline and timeoutMs', async () => {
    await using t = await startRegistry({});
    const e = await rejection(t.client.getModel({ pipeline: 'churn', version: 'slow' }, { deadline: new Date(Date.now() + 60_000), timeoutMs: 100 }));
    expect(isDeadlineExceeded(e)).toBe(true);
  });

  it('cancels the call when the caller aborts, and the handler sees it', async () => {
    const probe: Probe = {};
    await using t = await startRegistry(probe);
    const ac = new AbortController();
    const call = rejection(t.client.getModel({ pipeline: 'churn', version: 'slow' }, { signal: ac.signal }));
    await vi.waitFor(() => expect(probe.aborted).toBeDefined());
    ac.abort();
    const e = await call;
    expect(e).toBeInstanceOf(UnavailableError);
    expect(grpcCodeOf(e)).toBe(status.CANCELLED);
    expect(await probe.aborted).toBeInstanceOf(UnavailableError);
  });

  it('fails fast when the signal is already aborted', async () => {
    await using t = await startRegistry();
    const e = await rejection(t.client.getModel({ pipeline: 'churn', version: 'v1' }, { signal: AbortSignal.abort() }));
    expect(grpcCodeOf(e)).toBe(status.CANCELLED);
  });

  it('reports an unreachable server as UnavailableError', async () => {
    const client = createClient(TriggerService, '127.0.0.1:1', { timeoutMs: 2_000 });
    try {
      const e = await rejection(client.getRun({ runId: 'x' }));
      expect(e).toBeInstanceOf(UnavailableError);
      await expect(client.waitForReady(100)).rejects.toBeInstanceOf(UnavailableError);
    } finally {
      client.close();
    }
  });
});

describe('server lifecycle', () => {
  it('refuses handlers that do not match the service', async () => {
    const logger = memoryLogger();
    const handlers = { getModel: async () => ({}), listModels: async () => ({}) } as unknown as ServiceHandlers<typeof RegistryService>;
    await expect(createGrpcServer({ service: 'registry', port: 0, logger, services: [implement(RegistryService, handlers)], files: refitFiles })).rejects.toThrow(
      /no handler for GetAlias/,
    );
    const extra = { ...registryHandlers({}), getModels: async () => ({}) } as unknown as ServiceHandlers<typeof RegistryService>;
    await expect(createGrpcServer({ service: 'registry', port: 0, logger, services: [implement(RegistryService, extra)], files: refitFiles })).rejects.toThrow(
      /"getModels" matches no method/,
    );
  });

  it('stop() cancels calls still running after the grace period', async () => {
    const probe: Probe = {};
    const t = await startRegistry(probe);
    const call = rejection(t.client.getModel({ pipeline: 'churn', version: 'slow' }));
    await vi.waitFor(() => expect(probe.aborted).toBeDefined());
    const started = Date.now();
    await t.server.stop(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(await probe.aborted).toBeInstanceOf(UnavailableError);
    expect(await call).toBeInstanceOf(RefitError);
    // Idempotent.
    await t.server.stop(200);
    t.client.close();
  });
});
