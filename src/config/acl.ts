/**
 * @module `acl { enabled, default_policy, down_policy, enable_token_persistence, token_ttl,
 * tokens { initial_management, agent, default, dns, agent_recovery } }` as Consul reads it (JSON
 * and HCL), and the deprecated top-level aliases (`acl_default_policy`, `acl_master_token`, …).
 * Every token is registered with the logger's redaction the moment it is read.
 */
import type { AclConfig } from './schema.ts';
import { parseDurationNs } from '../util/duration.ts';
import { registerSecret } from '../log.ts';

const TOKEN_KEYS: Record<string, keyof AclConfig['tokens']> = {
  initial_management: 'initialManagement', master: 'initialManagement', agent: 'agent', default: 'default', dns: 'dns',
  agent_recovery: 'agentRecovery', agent_master: 'agentRecovery',
};
const LEGACY: Record<string, keyof AclConfig['tokens']> = { acl_master_token: 'initialManagement', acl_token: 'default', acl_agent_token: 'agent', acl_agent_master_token: 'agentRecovery' };

const ms = (v: unknown): number => (typeof v === 'number' ? v * 1000 : parseDurationNs(String(v)) / 1e6);

/** Applies the `acl` block (and legacy top-level keys) of one config file onto `a`. */
export function applyAclConfig(a: AclConfig, f: Record<string, unknown>, source: string): void {
  const setToken = (k: keyof AclConfig['tokens'], v: unknown, name: string) => {
    if (typeof v !== 'string') throw new Error(`${source}: ${name} must be a string`);
    registerSecret(v);
    a.tokens[k] = v;
  };
  for (const [k, t] of Object.entries(LEGACY)) if (f[k] !== undefined) setToken(t, f[k], k);
  if (f.acl_default_policy !== undefined) a.defaultPolicy = policy(f.acl_default_policy, 'acl_default_policy', source);
  if (f.acl_down_policy !== undefined) a.downPolicy = down(f.acl_down_policy, 'acl_down_policy', source);
  const acl = f.acl;
  if (acl === undefined || acl === null) return;
  if (typeof acl !== 'object' || Array.isArray(acl)) throw new Error(`${source}: acl must be a block`);
  for (const [k, v] of Object.entries(acl as Record<string, unknown>)) {
    switch (k) {
      case 'enabled':
        if (typeof v !== 'boolean') throw new Error(`${source}: acl.enabled must be a boolean`);
        a.enabled = v; break;
      case 'default_policy': a.defaultPolicy = policy(v, 'acl.default_policy', source); break;
      case 'down_policy': a.downPolicy = down(v, 'acl.down_policy', source); break;
      case 'enable_token_persistence':
        if (typeof v !== 'boolean') throw new Error(`${source}: acl.enable_token_persistence must be a boolean`);
        a.enableTokenPersistence = v; break;
      case 'enable_key_list_policy':
        if (typeof v !== 'boolean') throw new Error(`${source}: acl.enable_key_list_policy must be a boolean`);
        a.enableKeyListPolicy = v; break;
      case 'token_ttl': a.tokenTtlMs = ms(v); break;
      case 'policy_ttl': case 'role_ttl': case 'enable_token_replication': case 'msp_disable_bootstrap': break; // accepted, no effect here
      case 'tokens': {
        if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${source}: acl.tokens must be a block`);
        for (const [tk, tv] of Object.entries(v as Record<string, unknown>)) {
          const field = TOKEN_KEYS[tk];
          if (field) setToken(field, tv, `acl.tokens.${tk}`);
          else if (tk === 'replication' || tk === 'config_file_service_registration') { if (typeof tv === 'string') registerSecret(tv); }
          else throw new Error(`${source}: unknown acl.tokens key "${tk}"`);
        }
        break;
      }
      default: throw new Error(`${source}: unknown acl key "${k}"`);
    }
  }
}

function policy(v: unknown, key: string, source: string): 'allow' | 'deny' {
  if (v !== 'allow' && v !== 'deny') throw new Error(`${source}: ${key} must be "allow" or "deny"`);
  return v;
}

function down(v: unknown, key: string, source: string): AclConfig['downPolicy'] {
  if (v !== 'allow' && v !== 'deny' && v !== 'extend-cache' && v !== 'async-cache') throw new Error(`${source}: ${key} must be one of allow, deny, extend-cache, async-cache`);
  return v;
}
