/**
 * Route lookup: Roster's Router (exact map + longest-prefix list, src/http/server.ts) against
 * find-my-way 9 (Fastify's radix-tree router), over every route the agent registers and a mix
 * of request paths. Prints ns per lookup (median of 7 rounds).
 *
 *   node bench/api/router-match.ts
 */
import FindMyWay from 'find-my-way';
import { Router } from '../../src/http/server.ts';
import { registerRoutes } from '../../src/http/routes/index.ts';
import type { ApiDeps } from '../../src/http/context.ts';

const patterns: { methods: string[]; pattern: string }[] = [];
class Recording extends Router {
  override add(methods: string[], pattern: string, ...rest: Parameters<Router['add']> extends [unknown, unknown, ...infer R] ? R : never): this {
    patterns.push({ methods, pattern });
    return super.add(methods, pattern, ...rest);
  }
}
const roster = new Recording();
const stub: unknown = new Proxy(() => stub, { get: (_t, k) => (k === Symbol.toPrimitive ? () => '' : stub), apply: () => stub });
registerRoutes(roster, { config: { datacenter: 'dc1', http: {} }, hooks: {}, view: stub, notifier: stub, redis: stub, store: stub, kv: stub, syncer: stub, connector: stub } as unknown as ApiDeps);

const fmw = FindMyWay({ ignoreDuplicateSlashes: false });
const noop = () => {};
for (const { methods, pattern } of patterns) {
  // A prefix route's remainder may contain '/': find-my-way's wildcard; the bare path too (`/v1/kv`).
  for (const m of methods) {
    if (pattern.endsWith('/')) { fmw.on(m as 'GET', pattern + '*', noop); fmw.on(m as 'GET', pattern.slice(0, -1), noop); } else fmw.on(m as 'GET', pattern, noop);
  }
}

const paths = [
  '/v1/health/service/web', '/v1/catalog/services', '/v1/kv/config/app/db/url', '/v1/agent/self', '/v1/status/leader',
  '/v1/catalog/service/web', '/v1/agent/check/pass/service:web-1', '/v1/session/info/8b8e', '/v1/kv', '/v1/health/state/critical',
];
function time(fn: (p: string) => unknown): number {
  const N = 200_000;
  const rounds: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < N; i++) fn(paths[i % paths.length]!);
    rounds.push(Number(process.hrtime.bigint() - t) / N);
  }
  return rounds.sort((a, b) => a - b)[3]!;
}
for (const p of paths) if (!roster.match(p) || !fmw.find('GET', p) && !fmw.find('PUT', p)) throw new Error(`no route for ${p}`);
console.log(`routes: ${patterns.length} (${patterns.filter(p => p.pattern.endsWith('/')).length} prefix)`);
console.log('| router | ns per lookup (median of 7) |');
console.log('|---|---|');
console.log(`| Roster Router.match | ${time(p => roster.match(p)).toFixed(0)} |`);
console.log(`| find-my-way 9 find (GET) | ${time(p => fmw.find('GET', p)).toFixed(0)} |`);
