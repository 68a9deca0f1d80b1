import { refitFiles } from '@refit/contracts';
import { describe, expect, it } from 'vitest';
import { METHOD_ROLES, SERVICE_CALLS, rolesAllow } from './roles.js';

describe('the access table', () => {
  const methods = refitFiles.flatMap((f) => f.services.flatMap((s) => s.methods.map((m) => `${s.typeName}/${m.name}`)));

  it('names the role of every RPC in the contracts, and nothing else', () => {
    expect(methods.length).toBeGreaterThan(30);
    expect(methods.filter((m) => !(m in METHOD_ROLES))).toEqual([]);
    expect(Object.keys(METHOD_ROLES).filter((m) => !methods.includes(m))).toEqual([]);
  });

  it('lets a viewer read the drift history (the console reads it through gRPC, never the database)', () => {
    expect(METHOD_ROLES['refit.feature.v1.FeatureService/ListDrift']).toBe('viewer');
  });

  it('lets services make only calls that exist', () => {
    for (const calls of Object.values(SERVICE_CALLS)) for (const c of calls) expect(methods).toContain(c);
  });

  it('orders the roles: admin ⊇ operator ⊇ viewer; predictor stands apart', () => {
    expect(rolesAllow(['admin'], 'operator')).toBe(true);
    expect(rolesAllow(['admin'], 'predictor')).toBe(true);
    expect(rolesAllow(['operator'], 'viewer')).toBe(true);
    expect(rolesAllow(['operator'], 'admin')).toBe(false);
    expect(rolesAllow(['operator'], 'predictor')).toBe(false);
    expect(rolesAllow(['predictor'], 'viewer')).toBe(false);
    expect(rolesAllow(['viewer', 'predictor'], 'predictor')).toBe(true);
  });
});
