/**
 * @module DNS SRV fallback: `[tag.]name.service.<domain>` SRV against the agent's DNS port, targets
 * resolved to addresses (`<hex>.addr.<dc>.<domain>` decoded directly, node names via A lookups).
 */
import { Resolver } from 'node:dns/promises';
import type { Instance } from './types.ts';

/** `0a000001.addr.dc1.consul` → `10.0.0.1`; anything else → null. */
export function addrFromTarget(target: string): string | null {
  const m = /^([0-9a-f]{8})\.addr\./i.exec(target);
  if (!m) return null;
  const n = parseInt(m[1]!, 16);
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export interface DnsLookupOptions {
  /** `host:port` of the agent's DNS server. @defaultValue 127.0.0.1:8600 */
  dnsAddr?: string;
  domain?: string;
  timeoutMs?: number;
}

/** Looks up the instances of a service over DNS SRV (only passing/warning ones: DNS drops critical). */
export async function lookupSrv(service: string, tag: string | undefined, o: DnsLookupOptions = {}): Promise<Instance[]> {
  const r = new Resolver({ timeout: o.timeoutMs ?? 1000, tries: 2 });
  r.setServers([o.dnsAddr ?? '127.0.0.1:8600']);
  const name = `${tag ? `${tag}.` : ''}${service}.service.${o.domain ?? 'consul'}`;
  let srv;
  try {
    srv = await r.resolveSrv(name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOTFOUND' || (err as NodeJS.ErrnoException).code === 'ENODATA') return [];
    throw err;
  }
  const cache = new Map<string, Promise<string | null>>();
  const resolve = (t: string) => {
    let p = cache.get(t);
    if (!p) {
      const direct = addrFromTarget(t);
      p = direct ? Promise.resolve(direct) : r.resolve4(t).then(a => a[0] ?? null, () => null);
      cache.set(t, p);
    }
    return p;
  };
  const out: Instance[] = [];
  for (const s of srv) {
    const address = await resolve(s.name);
    if (!address) continue;
    const node = /^(.*)\.node\./.exec(s.name)?.[1] ?? '';
    out.push({
      id: `${address}:${s.port}`, service, node, address, port: s.port, tags: tag ? [tag] : [], meta: {},
      weights: { Passing: Math.max(1, s.weight), Warning: Math.max(1, s.weight) }, status: 'passing', source: 'dns',
    });
  }
  return out;
}
