import { createPrivateKey, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { create, type DescService } from '@bufbuild/protobuf';
import { credentials as grpcCredentials } from '@grpc/grpc-js';
import { DeployerService, EvaluatorService, FeatureService, IngestionService, RegistryService, TrainerService, TriggerService } from '@refit/contracts';
import { channelCredentials, createClient, issueToken, METHOD_ROLES, type Role } from '@refit/platform';
import { REPO_ROOT, startStack, type Stack } from '@refit/stack';
import { STACK_START_S } from '@refit/testing';
import { connect } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const id = randomBytes(3).toString('hex');
const env = { REFIT_SCHEMA_PREFIX: `sec_${id}_`, REFIT_STREAM: `SEC_${id}`, REFIT_SUBJECT_PREFIX: `sec${id}`, REFIT_S3_BUCKET: `sec-${id}` };
const SERVICES: Record<string, DescService> = {
  trigger: TriggerService,
  ingestion: IngestionService,
  feature: FeatureService,
  trainer: TrainerService,
  evaluator: EvaluatorService,
  registry: RegistryService,
  deployer: DeployerService,
};
// A role that does not include the one a method needs.
const WEAKER: Record<Role, Role> = { admin: 'operator', operator: 'viewer', predictor: 'viewer', viewer: 'predictor' };

type Outcome = { kind: string; message: string } | 'ok';

/** Calls `method` of `service` with an empty request; what happened. */
async function call(service: DescService, address: string, credentials: ReturnType<typeof channelCredentials>, localName: string): Promise<Outcome> {
  const client = createClient(service, address, { credentials, timeoutMs: 10_000 }) as unknown as Record<string, (req: unknown) => unknown> & { close(): void };
  const method = service.methods.find((m) => m.localName === localName)!;
  try {
    const answer = client[localName](method.methodKind === 'client_streaming' ? [] : create(method.input)) as unknown;
    if (method.methodKind === 'server_streaming') for await (const _ of answer as AsyncIterable<unknown>) break;
    else await answer;
    return 'ok';
  } catch (e) {
    return { kind: (e as { kind: string }).kind, message: (e as Error).message };
  } finally {
    client.close();
  }
}

// An attacker on the same network as the stack: every port reachable, no credential, or a
// credential with the wrong role; NATS reachable with the credentials other systems are given.
describe('the stack with authentication on, tried from outside', () => {
  let stack: Stack;
  let ca: Buffer;
  const token = (name: string, roles: Role[]) =>
    issueToken({ privateKey: createPrivateKey(readFileSync(join(stack.credentials.dir, 'tokens', 'issuer.key'))), name, roles, ttlSeconds: 600 });

  beforeAll(async () => {
    stack = await startStack({ env, workDir: join(REPO_ROOT, '.refit', `e2e-security-${id}`), startTimeoutS: STACK_START_S });
    ca = readFileSync(stack.env.REFIT_TLS_CA);
  });
  afterAll(async () => stack?.stop());

  it('refuses every mutating call of every service without a credential, and with a credential lacking the role', async () => {
    const refused: string[] = [];
    for (const [name, service] of Object.entries(SERVICES)) {
      for (const m of service.methods) {
        const needed = METHOD_ROLES[`${service.typeName}/${m.name}`];
        if (needed === 'viewer') continue;
        const anonymous = await call(service, stack.addresses[name as keyof Stack['addresses']], channelCredentials({ ca }), m.localName);
        expect(anonymous, `${m.name} without a credential`).toMatchObject({ kind: 'unauthenticated', message: expect.stringContaining('needs a credential') });
        const weak = await call(service, stack.addresses[name as keyof Stack['addresses']], channelCredentials({ ca, token: await token('eve', [WEAKER[needed]]) }), m.localName);
        expect(weak, `${m.name} as ${WEAKER[needed]}`).toMatchObject({ kind: 'permission_denied', message: expect.stringContaining(`it needs the ${needed} role`) });
        refused.push(m.name);
      }
    }
    expect(refused.sort()).toEqual(
      ['AbortRollout', 'ApplyPipeline', 'CancelRun', 'GetPredictedRows', 'ImportData', 'ListFeedbackRows', 'Predict', 'PromoteRollout', 'PushData', 'RecordDecision', 'SendFeedback', 'SetAlias', 'TriggerRun'].sort(),
    );
  });

  it('lets a viewer read and refuses plaintext clients at the transport', async () => {
    const viewer = createClient(TriggerService, stack.addresses.trigger, { credentials: channelCredentials({ ca, token: await token('vera', ['viewer']) }) });
    expect((await viewer.listPipelines({})).pipelines).toEqual([]);
    viewer.close();
    const plain = createClient(TriggerService, stack.addresses.trigger, { credentials: grpcCredentials.createInsecure(), timeoutMs: 5000 });
    await expect(plain.listPipelines({})).rejects.toMatchObject({ kind: 'unavailable' });
    plain.close();
  });

  it("lets other systems publish only external events on the stack's NATS", async () => {
    const nc = await connect({ servers: stack.env.REFIT_NATS_URL, user: 'external', pass: stack.credentials.natsPasswords.external });
    try {
      const js = nc.jetstream({ timeout: 3000 });
      await expect(js.publish(`${env.REFIT_SUBJECT_PREFIX}.model.evaluated`, new Uint8Array([1]))).rejects.toThrow();
      await expect(js.publish(`${env.REFIT_SUBJECT_PREFIX}.alias.changed`, new Uint8Array([1]))).rejects.toThrow();
      const ok = await js.publish(`${env.REFIT_SUBJECT_PREFIX}.external.retrain`, new TextEncoder().encode('{"pipeline":"none","source":"warehouse"}'), { headers: undefined });
      expect(ok.seq).toBeGreaterThan(0);
    } finally {
      await nc.close();
    }
    await expect(connect({ servers: stack.env.REFIT_NATS_URL, timeout: 2000 })).rejects.toThrow();
  });
});
