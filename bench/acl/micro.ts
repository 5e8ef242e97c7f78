/**
 * The ACL guard's own cost per HTTP request, in-process (no sockets, so the machine's other load
 * matters less): a handler that returns a shared rendered body (as catalog/health reads do), called
 * directly and through AclGuard.run with a token of ten prefix rules (+ node_prefix read) whose
 * reply filter keeps everything (health/service) or removes one entry (catalog/services).
 *   node bench/acl/micro.ts
 */
import { AclResolver } from '../../src/acl/resolver.ts';
import { AclGuard } from '../../src/http/acl.ts';
import { filterArray, filterMap } from '../../src/http/acl-table.ts';
import { parseRules } from '../../src/acl/rules.ts';
import { defaultAclConfig } from '../../src/config/schema.ts';
import type { AclStore, TokenRec } from '../../src/store/acl-store.ts';
import type { Ctx, Reply } from '../../src/http/server.ts';

const tok: TokenRec = { AccessorID: 'a', Description: '', Policies: [{ ID: 'p' }], Roles: [], ServiceIdentities: [], NodeIdentities: [], Local: false, CreateTime: '', Hash: '', CreateIndex: 1, ModifyIndex: 1 };
const store = { redis: { status: 'ready' }, tokenBySecret: async () => tok } as unknown as AclStore;
const resolver = new AclResolver(store, { ...defaultAclConfig(), enabled: true, defaultPolicy: 'deny' });
const rules = [...Array(10).keys()].map(d => `service_prefix "svc-${d}" { policy = "read" }`).join('\n') + '\nnode_prefix "" { policy = "read" }';
resolver.policies.set('p', { rec: {} as never, rules: parseRules(rules) });
const guard = new AclGuard(resolver, { default: '', agent: '', dns: '', agentRecovery: '' }, {
  '/v1/health/service/': { check: () => {}, filter: filterArray((e: any, a) => a.allow('node', e.Node.Node, 'read') && a.allow('service', e.Service.Service, 'read')) },
  '/v1/catalog/services': { check: () => {}, filter: filterMap((k, _v, a) => a.allow('service', k, 'read')) },
});
const health = Buffer.from(JSON.stringify([0, 1, 2].map(i => ({ Node: { Node: `node-${i}` }, Service: { Service: 'svc-42' }, Checks: [] }))));
const services = Buffer.from(JSON.stringify(Object.fromEntries([['consul', []], ...[...Array(100).keys()].map(s => [`svc-${String(s).padStart(2, '0')}`, []])])));
const reply = (body: Buffer) => async (): Promise<Reply> => ({ body, headers: { 'X-Consul-Index': '5', 'X-Consul-KnownLeader': 'true', 'X-Consul-LastContact': '0', 'Content-Type': 'application/json' } });
// Ctx objects built ahead (a real request builds its own anyway, with or without ACLs).
const ctxs = Array.from({ length: 1024 }, () => ({ query: new URLSearchParams(''), req: { headers: { 'x-consul-token': 'secret' } }, method: 'GET', has: () => false }) as unknown as Ctx);
await resolver.resolve('secret');

const N = 300_000;
async function time(fn: (c: Ctx) => Promise<Reply>): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < N; i++) await fn(ctxs[i & 1023]!);
  return (performance.now() - t0) / N * 1000;
}
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
for (const [name, pattern, body] of [['health/service (nothing filtered)', '/v1/health/service/', health], ['catalog/services (consul filtered out)', '/v1/catalog/services', services]] as const) {
  const h = reply(body);
  const base: number[] = [], guarded: number[] = [];
  for (let r = 0; r < 7; r++) {
    base.push(await time(() => h()));
    guarded.push(await time(c => guard.run(c, pattern, undefined, h)));
  }
  console.log(`${name}: handler ${median(base).toFixed(3)} µs, through the guard ${median(guarded).toFixed(3)} µs → ACL cost ${(median(guarded) - median(base)).toFixed(3)} µs per request`);
}
