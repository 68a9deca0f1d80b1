import type { LookupAddress } from 'node:dns';
import { isInvalidInput } from '@refit/platform';
import { describe, expect, it } from 'vitest';
import { addressRefusal, checkWebhookHost, guardedLookup, isWebhookAddressRefused, NO_ALLOW, parseWebhookAllowList, type ResolveHost } from './webhook-address.js';

/** A resolver answering from a table, as DNS would (the real one is exercised by the integration tests). */
const table = (names: Record<string, string[]>): ResolveHost => async (host) => {
  const found = names[host];
  if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return found.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
};

describe('addressRefusal', () => {
  it('lets public IPv4 and global IPv6 unicast through', () => {
    for (const a of ['8.8.8.8', '93.184.215.14', '1.1.1.1', '2606:4700:4700::1111', '2a00:1450:4001:81b::200e']) expect(addressRefusal(a, NO_ALLOW), a).toBeUndefined();
  });

  it('refuses every non-public IPv4 range, naming it', () => {
    const cases: Record<string, string> = {
      '127.0.0.1': 'a loopback address',
      '127.5.6.7': 'a loopback address',
      '10.0.0.1': 'a private address (RFC 1918)',
      '172.16.3.4': 'a private address (RFC 1918)',
      '192.168.1.1': 'a private address (RFC 1918)',
      '169.254.169.254': 'a link-local address (cloud metadata services live here)',
      '0.0.0.0': 'an unspecified address',
      '224.0.0.251': 'a multicast address',
      '255.255.255.255': 'a broadcast address',
      '240.0.0.1': 'a reserved address',
      '192.0.0.192': 'a reserved address',
      '100.100.100.200': 'a carrier-grade NAT address (100.64.0.0/10)',
      '198.18.0.1': 'a reserved address',
    };
    for (const [a, why] of Object.entries(cases)) expect(addressRefusal(a, NO_ALLOW), a).toBe(why);
  });

  it('refuses every non-public IPv6 range, and IPv6 outside global unicast 2000::/3', () => {
    const cases: Record<string, string> = {
      '::1': 'a loopback address',
      '::': 'an unspecified address',
      'fe80::1': 'a link-local address (cloud metadata services live here)',
      'fd00:ec2::254': 'a unique-local (private) address',
      'fc00::1': 'a unique-local (private) address',
      'ff02::1': 'a multicast address',
      '2001:db8::1': 'a reserved address',
      '64:ff9b::7f00:1': 'a non-public address (rfc6052)',
      '2002:7f00:1::': 'a non-public address (6to4)',
      '::7f00:1': 'an address outside global unicast (2000::/3)',
    };
    for (const [a, why] of Object.entries(cases)) expect(addressRefusal(a, NO_ALLOW), a).toBe(why);
  });

  it('judges an IPv4-mapped IPv6 address by the IPv4 address it carries', () => {
    expect(addressRefusal('::ffff:127.0.0.1', NO_ALLOW)).toBe('a loopback address (IPv4-mapped 127.0.0.1)');
    expect(addressRefusal('::ffff:a9fe:a9fe', NO_ALLOW)).toBe('a link-local address (cloud metadata services live here) (IPv4-mapped 169.254.169.254)');
    expect(addressRefusal('::ffff:10.1.2.3', NO_ALLOW)).toBe('a private address (RFC 1918) (IPv4-mapped 10.1.2.3)');
    expect(addressRefusal('::ffff:8.8.8.8', NO_ALLOW)).toBeUndefined();
  });

  it('lets through what a CIDR entry of the allow-list covers, IPv4 entries covering mapped addresses too', () => {
    const allow = parseWebhookAllowList('127.0.0.1/32, 10.20.0.0/16,fd12:3456::/32, 192.168.7.9');
    for (const a of ['127.0.0.1', '::ffff:127.0.0.1', '10.20.255.1', 'fd12:3456::9', '192.168.7.9']) expect(addressRefusal(a, allow), a).toBeUndefined();
    for (const a of ['127.0.0.2', '10.21.0.1', 'fd12:3457::9', '192.168.7.10', '::1', '169.254.169.254']) expect(addressRefusal(a, allow), a).toBeDefined();
  });

  it('does not take a malformed address for a public one', () => {
    expect(addressRefusal('not-an-ip', NO_ALLOW)).toBe('not an IP address');
  });
});

describe('parseWebhookAllowList', () => {
  it('is empty when unset or blank', () => {
    expect(parseWebhookAllowList(undefined)).toEqual({ cidrs: [], hosts: [] });
    expect(parseWebhookAllowList(' , ')).toEqual({ cidrs: [], hosts: [] });
  });

  it('takes CIDRs, bare addresses, host names and *.suffix names', () => {
    const allow = parseWebhookAllowList('10.0.0.0/8,::1,Hooks.Internal.,*.corp.example');
    expect(allow.cidrs.map(([a, bits]) => `${a.toString()}/${bits}`)).toEqual(['10.0.0.0/8', '::1/128']);
    expect(allow.hosts).toEqual(['hooks.internal', '*.corp.example']);
  });

  it('refuses an entry it cannot read, naming the variable and the entry', () => {
    for (const bad of ['10.0.0.0/33', '10.0.0/8', 'http://x', 'a b', '*', '*.', '127.1']) {
      let err: unknown;
      try {
        parseWebhookAllowList(`8.8.8.8/32,${bad}`);
      } catch (e) {
        err = e;
      }
      expect(isInvalidInput(err), bad).toBe(true);
      expect((err as Error).message).toContain(`REFIT_ALERT_WEBHOOK_ALLOW: '${bad}'`);
    }
  });
});

describe('checkWebhookHost', () => {
  const resolve = table({ 'hooks.example.com': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'], 'split.example.com': ['93.184.215.14', '10.0.0.7'], 'hooks.internal': ['10.1.2.3'], 'a.corp.example': ['10.9.9.9'] });

  it('returns every address of a host that resolves only to public addresses', async () => {
    expect((await checkWebhookHost('hooks.example.com', { allow: NO_ALLOW, resolve })).map((a) => a.address)).toEqual(['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c']);
  });

  it('refuses a host with any non-public address, saying which', async () => {
    const err = await checkWebhookHost('split.example.com', { allow: NO_ALLOW, resolve }).catch((e: unknown) => e);
    expect(isWebhookAddressRefused(err)).toBe(true);
    expect(err).toMatchObject({ host: 'split.example.com', address: '10.0.0.7' });
    expect((err as Error).message).toBe(
      'host split.example.com resolves to 10.0.0.7, a private address (RFC 1918); webhooks may only reach public addresses unless the operator allows it with REFIT_ALERT_WEBHOOK_ALLOW',
    );
  });

  it('takes an IP literal as is, without resolving it', async () => {
    const err = await checkWebhookHost('[::ffff:7f00:1]', { allow: NO_ALLOW, resolve: table({}) }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^host ::ffff:7f00:1 resolves to ::ffff:7f00:1, a loopback address \(IPv4-mapped 127\.0\.0\.1\); /);
    expect(await checkWebhookHost('8.8.8.8', { allow: NO_ALLOW, resolve: table({}) })).toEqual([{ address: '8.8.8.8', family: 4 }]);
  });

  it('lets an allow-listed host name (exact or *.suffix) reach whatever it resolves to', async () => {
    const allow = parseWebhookAllowList('HOOKS.internal,*.corp.example');
    expect(await checkWebhookHost('hooks.internal', { allow, resolve })).toEqual([{ address: '10.1.2.3', family: 4 }]);
    expect(await checkWebhookHost('a.corp.example', { allow, resolve })).toEqual([{ address: '10.9.9.9', family: 4 }]);
    // The suffix is a whole label: `evilcorp.example` is not `*.corp.example`.
    const other = table({ 'xcorp.example': ['10.9.9.9'], 'corp.example': ['10.9.9.9'] });
    for (const host of ['xcorp.example', 'corp.example']) expect(isWebhookAddressRefused(await checkWebhookHost(host, { allow, resolve: other }).catch((e: unknown) => e)), host).toBe(true);
  });

  it('says when a host does not resolve', async () => {
    const err = await checkWebhookHost('nowhere.example', { allow: NO_ALLOW, resolve }).catch((e: unknown) => e);
    expect(isWebhookAddressRefused(err)).toBe(false);
    expect(err).toMatchObject({ code: 'ENOTFOUND' });
  });
});

describe('guardedLookup', () => {
  const resolve = table({ 'hooks.example.com': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'], 'rebound.example.com': ['127.0.0.1'] });
  const call = (host: string, options: { all?: boolean; family?: number }) =>
    new Promise<{ err: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number }>((done) =>
      guardedLookup({ allow: NO_ALLOW, resolve })(host, options, (err, address, family) => done({ err, address, family })),
    );

  it('answers with the checked addresses, in the form the socket asked for', async () => {
    expect(await call('hooks.example.com', { all: true })).toMatchObject({ err: null, address: [{ address: '93.184.215.14', family: 4 }, { address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 }] });
    expect(await call('hooks.example.com', {})).toMatchObject({ err: null, address: '93.184.215.14', family: 4 });
    expect(await call('hooks.example.com', { family: 6 })).toMatchObject({ err: null, address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 });
  });

  it('fails the connection with the refusal when the host now resolves to a refused address', async () => {
    const { err } = await call('rebound.example.com', { all: true });
    expect(isWebhookAddressRefused(err)).toBe(true);
    expect(err?.message).toMatch(/^host rebound\.example\.com resolves to 127\.0\.0\.1, a loopback address; /);
  });
});
