/**
 * @module ACLs in the agent: the store and resolver on the agent's Redis, the guard on the HTTP
 * router, the agent's tokens (persisted in <data-dir>/acl-tokens.json, 0600, when
 * enable_token_persistence is set) and the DNS server's token.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AclStore } from '../store/acl-store.ts';
import { keysFor } from '../store/keys.ts';
import { AclResolver } from '../acl/resolver.ts';
import { AclGuard, type AgentTokens } from '../http/acl.ts';
import { aclTable } from '../http/acl-table.ts';
import type { AclDeps, ApiDeps } from '../http/context.ts';
import type { Router } from '../http/server.ts';
import { logger, registerSecret } from '../log.ts';
import type { Config } from '../config/schema.ts';
import type { DnsServer } from '../dns/server.ts';
import type { Redis } from 'ioredis';
import type { HintSource } from '../store/hint-log.ts';

/** What ACLs need of the agent. */
interface AgentParts { config: Config; redis: Redis; dns?: DnsServer; hints?: HintSource }

const log = logger('agent.acl');

export async function startAcl(agent: AgentParts, deps: ApiDeps, router: Router): Promise<AclDeps> {
  const cfg = agent.config;
  const store = new AclStore(agent.redis, keysFor(cfg.datacenter));
  const resolver = new AclResolver(store, cfg.acl);
  await resolver.start(agent.hints);
  const t = cfg.acl.tokens;
  const tokens: AgentTokens = { default: t.default ?? '', agent: t.agent ?? '', dns: t.dns ?? '', agentRecovery: t.agentRecovery ?? '' };
  const file = join(cfg.dataDir, 'acl-tokens.json');
  if (cfg.acl.enableTokenPersistence) {
    try {
      const saved = JSON.parse(readFileSync(file, 'utf8')) as Partial<AgentTokens>;
      for (const k of ['default', 'agent', 'dns', 'agentRecovery'] as const) {
        if (typeof saved[k] === 'string' && saved[k]) { registerSecret(saved[k]); tokens[k] = saved[k]; }
      }
    } catch { /* none saved yet */ }
  }
  const guard = new AclGuard(resolver, tokens, aclTable(deps));
  router.guard = guard;
  const acl: AclDeps = {
    resolver, tokens,
    identify: ctx => guard.identify(ctx),
    tokensChanged: () => {
      for (const v of Object.values(tokens)) registerSecret(v);
      agent.dns?.setAcl?.(dnsAccess(acl));
      if (!cfg.acl.enableTokenPersistence) return;
      try { writeFileSync(file, JSON.stringify(tokens), { mode: 0o600 }); } catch (err) { log.warn('cannot persist agent ACL tokens', { err: (err as Error).message }); }
    },
  };
  deps.acl = acl;
  agent.dns?.setAcl?.(dnsAccess(acl));
  log.info('ACLs enabled', { default_policy: cfg.acl.defaultPolicy, down_policy: cfg.acl.downPolicy });
  return acl;
}

/** What DNS may show: resolved from tokens.dns, else tokens.default, else anonymous (re-resolved when the resolver's cache turns over). */
export function dnsAccess(acl: AclDeps): () => Promise<import('../acl/authorizer.ts').Authorizer | null> {
  return async () => {
    try {
      return (await acl.resolver.resolve(acl.tokens.dns || acl.tokens.default)).authz;
    } catch {
      return null; // an unknown configured token: DNS treats it as deny-all (NXDOMAIN; README, Access control)
    }
  };
}
