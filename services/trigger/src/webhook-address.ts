import type { LookupAddress } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import { FailedPreconditionError, InvalidInputError } from '@refit/platform';
import ipaddr from 'ipaddr.js';

/** The service setting that lets webhooks reach non-public networks and hosts. */
export const WEBHOOK_ALLOW_ENV = 'REFIT_ALERT_WEBHOOK_ALLOW';

type Ip = ipaddr.IPv4 | ipaddr.IPv6;

/** Non-public destinations the operator lets webhooks reach ({@link WEBHOOK_ALLOW_ENV}). */
export type WebhookAllowList = {
  /** Networks, as address and prefix length (a bare address is a /32 or /128). Default none. */
  readonly cidrs: readonly (readonly [Ip, number])[];
  /** Host names, lower case without a trailing dot; `*.example.internal` allows every name under it. Default none. */
  readonly hosts: readonly string[];
};

/** The empty allow-list: public addresses only (the default). */
export const NO_ALLOW: WebhookAllowList = Object.freeze({ cidrs: [], hosts: [] });

/** One address a host resolves to. */
export type ResolvedAddress = LookupAddress;

/** Resolves a host name to all its addresses; fails as `dns.lookup` does (`code` ENOTFOUND…). */
export type ResolveHost = (host: string) => Promise<ResolvedAddress[]>;

/** The system resolver (`dns.lookup` with `all: true`: what a connection to the name would use). */
export const systemResolveHost: ResolveHost = (host) => lookup(host, { all: true, verbatim: true });

/** Where a webhook may connect. */
export type WebhookAddressPolicy = {
  /** What the operator allows beyond public addresses. */
  allow: WebhookAllowList;
  /** Resolver of host names. Default {@link systemResolveHost}. */
  resolve?: ResolveHost;
};

const HOST_NAME = /^(\*\.)?[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*$/;

/** A single address or a CIDR, strictly (no `127.1`, no `0x7f.1`), else undefined. */
function parseCidr(entry: string): [Ip, number] | undefined {
  const [addr, bits, ...rest] = entry.split('/');
  if (rest.length > 0 || !isIP(addr)) return undefined;
  const ip = ipaddr.parse(addr);
  if (bits === undefined) return [ip, ip.kind() === 'ipv4' ? 32 : 128];
  const n = Number(bits);
  return /^\d{1,3}$/.test(bits) && n <= (ip.kind() === 'ipv4' ? 32 : 128) ? [ip, n] : undefined;
}

/**
 * Reads {@link WEBHOOK_ALLOW_ENV}: comma-separated CIDRs (`10.0.0.0/8`, `fd00::/8`), addresses
 * (`127.0.0.1`), host names (`hooks.internal`) and `*.suffix` names. Unset or blank: nothing
 * (public addresses only). Throws InvalidInputError naming an entry it cannot read.
 */
export function parseWebhookAllowList(value: string | undefined): WebhookAllowList {
  const cidrs: [Ip, number][] = [];
  const hosts: string[] = [];
  for (const entry of (value ?? '').split(',').map((e) => e.trim()).filter(Boolean)) {
    const cidr = parseCidr(entry);
    const host = entry.toLowerCase().replace(/\.$/, '');
    if (cidr) cidrs.push(cidr);
    // `127.1` would read as a name; an entry that looks numeric must be a real address.
    else if (HOST_NAME.test(host) && !/^[\d.]+$/.test(host) && !entry.includes('/')) hosts.push(host);
    else throw new InvalidInputError(`${WEBHOOK_ALLOW_ENV}: '${entry}' is neither a CIDR (10.0.0.0/8, fd00::/8), an IP address nor a host name (hooks.internal, *.corp.example)`);
  }
  return Object.freeze({ cidrs: Object.freeze(cidrs), hosts: Object.freeze(hosts) });
}

const RANGE_WORDS: Record<string, string> = {
  loopback: 'a loopback address',
  private: 'a private address (RFC 1918)',
  uniqueLocal: 'a unique-local (private) address',
  linkLocal: 'a link-local address (cloud metadata services live here)',
  unspecified: 'an unspecified address',
  multicast: 'a multicast address',
  broadcast: 'a broadcast address',
  reserved: 'a reserved address',
  carrierGradeNat: 'a carrier-grade NAT address (100.64.0.0/10)',
  benchmarking: 'a benchmarking address',
};
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3');

/** True when the allow-list's CIDRs cover `ip` (an IPv4 entry covers the IPv4-mapped form too). */
const coveredBy = (ip: Ip, allow: WebhookAllowList): boolean => allow.cidrs.some(([net, bits]) => net.kind() === ip.kind() && ip.match(net, bits));

/**
 * Why a webhook may not connect to `address` (`a loopback address`…), or undefined when it may:
 * the operator's allow-list covers it, or it is public — `unicast` by ipaddr.js's `range()`, and
 * for IPv6 within global unicast 2000::/3. An IPv4-mapped IPv6 address is judged as its IPv4.
 */
export function addressRefusal(address: string, allow: WebhookAllowList): string | undefined {
  if (!isIP(address)) return 'not an IP address';
  const given = ipaddr.parse(address);
  const mapped = given.kind() === 'ipv6' && (given as ipaddr.IPv6).isIPv4MappedAddress();
  const ip: Ip = mapped ? (given as ipaddr.IPv6).toIPv4Address() : given;
  if (coveredBy(ip, allow)) return undefined;
  const range = ip.range();
  let why: string | undefined;
  if (range !== 'unicast') why = RANGE_WORDS[range] ?? `a non-public address (${range})`;
  // ipaddr.js calls `::7f00:1` (IPv4-compatible) or unassigned space unicast; none of it is public.
  else if (ip.kind() === 'ipv6' && !ip.match(GLOBAL_UNICAST_V6)) why = 'an address outside global unicast (2000::/3)';
  if (why === undefined) return undefined;
  return mapped ? `${why} (IPv4-mapped ${ip.toString()})` : why;
}

/** A webhook host resolves to an address it may not reach: permanent until the operator's configuration changes. */
export class WebhookAddressRefusedError extends FailedPreconditionError {
  /** The URL's host. */
  readonly host: string;
  /** The refused address. */
  readonly address: string;
  /** What kind of address it is (`a loopback address`…); `reason` is the ErrorInfo reason, WEBHOOK_ADDRESS_REFUSED. */
  readonly addressKind: string;
  constructor(host: string, address: string, addressKind: string) {
    super(`host ${host} resolves to ${address}, ${addressKind}; webhooks may only reach public addresses unless the operator allows it with ${WEBHOOK_ALLOW_ENV}`, {
      details: { host, address, reason: addressKind },
      reason: 'WEBHOOK_ADDRESS_REFUSED',
    });
    this.host = host;
    this.address = address;
    this.addressKind = addressKind;
  }
}

/** True for a {@link WebhookAddressRefusedError}. */
export const isWebhookAddressRefused = (e: unknown): e is WebhookAddressRefusedError => e instanceof WebhookAddressRefusedError;

/** True when an allow-listed host name (exact, or under a `*.suffix` entry) is `host`. */
function nameAllowed(host: string, allow: WebhookAllowList): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return allow.hosts.some((e) => (e.startsWith('*.') ? h.endsWith(e.slice(1)) : h === e));
}

/**
 * The addresses a webhook host (a URL's `hostname`; an IP literal is taken as is, brackets or not)
 * may be connected to: all it resolves to, each of which must be allowed — by the host name being
 * allow-listed, or by {@link addressRefusal}. Throws {@link WebhookAddressRefusedError} naming the
 * first refused address; a resolver failure (`code` ENOTFOUND, EAI_AGAIN…) is thrown as it is.
 */
export async function checkWebhookHost(host: string, policy: WebhookAddressPolicy): Promise<ResolvedAddress[]> {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  const family = isIP(bare);
  const addresses = family ? [{ address: bare, family }] : await (policy.resolve ?? systemResolveHost)(bare);
  if (family === 0 && nameAllowed(bare, policy.allow)) return addresses;
  for (const a of addresses) {
    const why = addressRefusal(a.address, policy.allow);
    if (why) throw new WebhookAddressRefusedError(bare, a.address, why);
  }
  return addresses;
}

/**
 * A `lookup` for `http.request`/`net.connect` that resolves with {@link checkWebhookHost}, so the
 * socket connects only to addresses that were just checked (a name that rebinds to an inside
 * address between the check and the connection cannot slip through). Fails with the refusal.
 */
export function guardedLookup(policy: WebhookAddressPolicy): LookupFunction {
  return (hostname, options, callback) => {
    checkWebhookHost(hostname, policy).then(
      (all) => {
        const wanted = options.family === 4 || options.family === 6 ? all.filter((a) => a.family === options.family) : all;
        if (wanted.length === 0) return callback(Object.assign(new Error(`host ${hostname} has no IPv${options.family} address`), { code: 'ENOTFOUND' }), '');
        if (options.all) callback(null, wanted);
        else callback(null, wanted[0].address, wanted[0].family);
      },
      (e: NodeJS.ErrnoException) => callback(e, ''),
    );
  };
}
