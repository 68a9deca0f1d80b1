import { create, createFileRegistry, equals, fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema, type FileDescriptorProto } from '@bufbuild/protobuf/wkt';
import { credentials, loadPackageDefinition, type Client as GrpcJsClient, type ClientDuplexStream, type ServiceClientConstructor } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { DeployerService, TriggerService, file_refit_trigger_v1_trigger, refitFiles } from '@refit/contracts';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NotFoundError } from '../errors.js';
import { implement, type ServiceHandlers } from './handlers.js';
import { checkHealth } from './health.js';
import { withDependencies } from './reflection.js';
import { createGrpcServer } from './server.js';
import type { GrpcLogger } from './types.js';
import { notImplemented } from './test-handlers.js';

const noop = (): void => {};
const logger: GrpcLogger = { debug: noop, info: noop, warn: noop, error: noop };

const notFound = async (): Promise<never> => {
  throw new NotFoundError('nothing here');
};
const triggerHandlers: ServiceHandlers<typeof TriggerService> = {
  ...notImplemented(TriggerService),
  applyPipeline: notFound,
  getPipeline: notFound,
  listPipelines: notFound,
  triggerRun: notFound,
  getRun: notFound,
  listRuns: notFound,
};
const deployerHandlers: ServiceHandlers<typeof DeployerService> = { ...notImplemented(DeployerService), predict: notFound, getDeployment: notFound };

async function startServer() {
  return createGrpcServer({
    service: 'trigger',
    port: 0,
    logger,
    services: [implement(TriggerService, triggerHandlers), implement(DeployerService, deployerHandlers)],
    files: refitFiles,
  });
}

describe('health', () => {
  it('reports SERVING, then NOT_SERVING after setServing(false)', async () => {
    await using server = await startServer();
    expect(await checkHealth(server.address)).toBe('SERVING');
    expect(await checkHealth(server.address, 'refit.trigger.v1.TriggerService')).toBe('SERVING');
    expect(await checkHealth(server.address, 'refit.deployer.v1.DeployerService')).toBe('SERVING');
    expect(await checkHealth(server.address, 'refit.registry.v1.RegistryService')).toBe('SERVICE_UNKNOWN');
    server.setServing(false);
    expect(await checkHealth(server.address)).toBe('NOT_SERVING');
    expect(await checkHealth(server.address, 'refit.trigger.v1.TriggerService')).toBe('NOT_SERVING');
    server.setServing(true);
    expect(await checkHealth(server.address)).toBe('SERVING');
  });

  it('reports UNKNOWN when nothing listens, instead of throwing', async () => {
    expect(await checkHealth('127.0.0.1:1', '', 500)).toBe('UNKNOWN');
  });
});

// The reflection protos ship with @grpc/reflection (next to its build output).
const reflectionProtoDir = join(dirname(createRequire(import.meta.url).resolve('@grpc/reflection')), '..', 'proto');

type ReflectionResponse = {
  listServicesResponse?: { service: Array<{ name: string }> };
  fileDescriptorResponse?: { fileDescriptorProto: Uint8Array[] };
  errorResponse?: { errorCode: number; errorMessage: string };
};

/** Asks a server's reflection service (v1 or v1alpha) the given questions on one stream. */
async function reflect(address: string, version: 'v1' | 'v1alpha', requests: object[]): Promise<ReflectionResponse[]> {
  const def = loadSync(join(reflectionProtoDir, `grpc/reflection/${version}/reflection.proto`), { defaults: true, oneofs: true });
  const pkg = loadPackageDefinition(def) as unknown as { grpc: { reflection: Record<string, { ServerReflection: ServiceClientConstructor }> } };
  const client = new pkg.grpc.reflection[version].ServerReflection(address, credentials.createInsecure()) as unknown as GrpcJsClient & {
    ServerReflectionInfo(): ClientDuplexStream<object, ReflectionResponse>;
  };
  try {
    const call = client.ServerReflectionInfo();
    for (const r of requests) call.write(r);
    call.end();
    const out: ReflectionResponse[] = [];
    for await (const res of call) out.push(res as ReflectionResponse);
    return out;
  } finally {
    client.close();
  }
}

/**
 * Builds a registry from reflection's answer, resolving every import by name among the files
 * received; a missing one throws. (Files are added dependencies first: protobuf-es's own
 * resolver adds a diamond's shared import after a file that needs it.)
 */
function resolveStrictly(files: FileDescriptorProto[]) {
  const ordered: FileDescriptorProto[] = [];
  const added = new Set<string>();
  const visit = (f: FileDescriptorProto): void => {
    if (added.has(f.name)) return;
    added.add(f.name);
    for (const dep of f.dependency) {
      const d = files.find((x) => x.name === dep);
      if (!d) throw new Error(`Cannot find ${dep}, imported by ${f.name}`);
      visit(d);
    }
    ordered.push(f);
  };
  visit(files[0]);
  return createFileRegistry(create(FileDescriptorSetSchema, { file: ordered }));
}

describe('reflection', () => {
  it('lists only the services served, plus health (v1 and v1alpha)', async () => {
    await using server = await startServer();
    for (const version of ['v1', 'v1alpha'] as const) {
      const [res] = await reflect(server.address, version, [{ listServices: '*' }]);
      expect(res.listServicesResponse!.service.map((s) => s.name).sort()).toEqual([
        'grpc.health.v1.Health',
        'refit.deployer.v1.DeployerService',
        'refit.trigger.v1.TriggerService',
      ]);
    }
  });

  it('answers file_containing_symbol with the original files and every import a strict client needs', async () => {
    await using server = await startServer();
    for (const version of ['v1', 'v1alpha'] as const) {
      const responses = await reflect(server.address, version, [
        { fileContainingSymbol: 'refit.trigger.v1.TriggerService' },
        { fileContainingSymbol: 'refit.deployer.v1.PredictRequest' },
        { fileContainingSymbol: 'refit.nope.v1.Missing' },
      ]);
      const [trigger, deployer, missing] = responses;
      const triggerFiles = trigger.fileDescriptorResponse!.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b));
      // The first file is the one declaring the symbol, under its own name (not a merged package file).
      expect(triggerFiles[0].name).toBe('refit/trigger/v1/trigger.proto');
      expect(triggerFiles[0].dependency).toEqual(['google/protobuf/timestamp.proto']);
      expect(equals(FileDescriptorProtoSchema, triggerFiles[0], file_refit_trigger_v1_trigger.proto)).toBe(true);
      expect(triggerFiles.map((f) => f.name)).toContain('google/protobuf/timestamp.proto');
      // A strict client: protobuf-es resolves every import by name and throws on a missing one.
      const registry = resolveStrictly(triggerFiles);
      expect(registry.getService('refit.trigger.v1.TriggerService')?.methods.map((m) => m.name)).toEqual(TriggerService.methods.map((m) => m.name));
      expect(registry.getMessage('refit.trigger.v1.Run')?.field.candidateMetrics.fieldKind).toBe('map');

      const deployerFiles = deployer.fileDescriptorResponse!.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b));
      expect(deployerFiles.map((f) => f.name)).toContain('google/protobuf/struct.proto');
      expect(resolveStrictly(deployerFiles).getService('refit.deployer.v1.DeployerService')).toBeDefined();

      expect(missing.errorResponse?.errorCode).toBe(5);
    }
  });

  it('orders files dependencies-first, each once', () => {
    const names = withDependencies(refitFiles).map((f) => f.proto.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names.indexOf('google/protobuf/timestamp.proto')).toBeLessThan(names.indexOf('refit/common/v1/common.proto'));
    expect(names.indexOf('refit/common/v1/common.proto')).toBeLessThan(names.indexOf('refit/registry/v1/registry.proto'));
    expect(names).toContain('google/protobuf/struct.proto');
  });
});
