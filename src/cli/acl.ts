/**
 * @module `roster acl bootstrap | policy … | token … | role … | set-agent-token`: Consul's ACL
 * commands, output formats and flags (`-name`, `-rules @file|-|text`, `-policy-name`, `-description`,
 * `-format json`). The token comes from `-token`, `-token-file`, CONSUL_HTTP_TOKEN(_FILE) like every command.
 */
import { readFileSync } from 'node:fs';
import { HelpRequested } from './flags.ts';
import { encPath, fail, parseApiFlags, type Api } from './http.ts';

type J = Record<string, any>;
const USAGE = 'Usage: roster acl <subcommand> [options] [args]\n\nSubcommands:\n    bootstrap        Bootstrap Consul\'s ACL system\n    policy           Manage ACL policies (create, list, read, update, delete)\n    role             Manage ACL roles (create, list, read, update, delete)\n    set-agent-token  Assign tokens for the agent\'s use\n    token            Manage ACL tokens (create, list, read, update, delete, clone)\n';

const out = (s: string) => process.stdout.write(s);
const links = (l?: { ID: string; Name: string }[]) => (l ?? []).map(p => `   ${p.ID} - ${p.Name}\n`).join('');

function printToken(t: J): void {
  out(`AccessorID:       ${t.AccessorID}\nSecretID:         ${t.SecretID}\nDescription:      ${t.Description}\nLocal:            ${t.Local}\nCreate Time:      ${t.CreateTime}\n`);
  if (t.ExpirationTime) out(`Expiration Time:  ${t.ExpirationTime}\n`);
  if (t.Policies?.length) out(`Policies:\n${links(t.Policies)}`);
  if (t.Roles?.length) out(`Roles:\n${links(t.Roles)}`);
  if (t.ServiceIdentities?.length) out(`Service Identities:\n${t.ServiceIdentities.map((s: J) => `   ${s.ServiceName} (Datacenters: ${s.Datacenters?.join(', ') || 'all'})\n`).join('')}`);
}

function printPolicy(p: J, withRules = true): void {
  out(`ID:           ${p.ID}\nName:         ${p.Name}\nDescription:  ${p.Description}\nDatacenters:  ${(p.Datacenters ?? []).join(', ')}\n`);
  if (withRules) out(`Rules:\n${p.Rules}\n`);
}

function printRole(r: J): void {
  out(`ID:           ${r.ID}\nName:         ${r.Name}\nDescription:  ${r.Description}\n`);
  if (r.Policies?.length) out(`Policies:\n${links(r.Policies)}`);
}

/** `-rules`: `@file`, `-` (stdin) or the text itself. */
function rulesArg(v: string | undefined): string {
  if (v === undefined) return '';
  if (v === '-') return readFileSync(0, 'utf8');
  if (v.startsWith('@')) return readFileSync(v.slice(1), 'utf8');
  return v;
}

function show(flags: J, v: J, print: (x: J) => void): number {
  if (flags.format === 'json') out(JSON.stringify(v, null, 4) + '\n');
  else print(v);
  return 0;
}

/** A policy ID from `-id` (full ID or unique prefix) or `-name`. */
async function policyId(api: Api, flags: J): Promise<string> {
  if (flags.name && !flags.id) return (await api.json<J>('GET', `/v1/acl/policy/name/${encPath(flags.name)}`)).data.ID;
  const id = flags.id as string | undefined;
  if (!id) throw new Error('Must specify either the -id or -name parameters');
  if (id.length === 36) return id;
  const all = (await api.json<J[]>('GET', '/v1/acl/policies')).data.filter(p => p.ID.startsWith(id));
  if (all.length !== 1) throw new Error(all.length ? `Multiple policies found with prefix "${id}"` : `No such policy ID with prefix: ${id}`);
  return all[0]!.ID;
}

async function policy(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const { flags, api } = parseApiFlags(rest, { name: 'string', description: 'string', rules: 'string', id: 'string', format: 'string', 'valid-datacenter': 'list' });
  switch (sub) {
    case 'create': {
      if (!flags.name) return fail('Missing require \'-name\' flag');
      const body = { Name: flags.name, Description: flags.description ?? '', Rules: rulesArg(flags.rules as string | undefined), Datacenters: flags['valid-datacenter'] ?? [] };
      return show(flags, (await api.json<J>('PUT', '/v1/acl/policy', body)).data, printPolicy);
    }
    case 'list': {
      const all = (await api.json<J[]>('GET', '/v1/acl/policies')).data;
      if (flags.format === 'json') { out(JSON.stringify(all, null, 4) + '\n'); return 0; }
      for (const p of all) { out(`${p.Name}:\n`); out(`   ID:           ${p.ID}\n   Description:  ${p.Description}\n   Datacenters:  ${(p.Datacenters ?? []).join(', ')}\n`); }
      return 0;
    }
    case 'read': return show(flags, (await api.json<J>('GET', `/v1/acl/policy/${await policyId(api, flags)}`)).data, printPolicy);
    case 'update': {
      const id = await policyId(api, flags);
      const cur = (await api.json<J>('GET', `/v1/acl/policy/${id}`)).data;
      const body = { ID: id, Name: flags.name ?? cur.Name, Description: flags.description ?? cur.Description, Rules: flags.rules !== undefined ? rulesArg(flags.rules as string) : cur.Rules, Datacenters: flags['valid-datacenter'] ?? cur.Datacenters };
      return show(flags, (await api.json<J>('PUT', `/v1/acl/policy/${id}`, body)).data, printPolicy);
    }
    case 'delete': {
      const id = await policyId(api, flags);
      await api.json('DELETE', `/v1/acl/policy/${id}`);
      out(`Policy "${id}" deleted successfully\n`);
      return 0;
    }
    default: return fail('Usage: roster acl policy <create|list|read|update|delete> [options]');
  }
}

async function token(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const { flags, api } = parseApiFlags(rest, {
    description: 'string', 'policy-name': 'list', 'policy-id': 'list', 'role-name': 'list', 'role-id': 'list', 'service-identity': 'list', 'node-identity': 'list',
    local: 'bool', 'expires-ttl': 'string', accessor: 'string', secret: 'string', id: 'string', self: 'bool', format: 'string',
  });
  const bodyFromFlags = (): J => {
    const b: J = {};
    if (flags.description !== undefined) b.Description = flags.description;
    const pols = [...((flags['policy-name'] as string[] | undefined) ?? []).map(Name => ({ Name })), ...((flags['policy-id'] as string[] | undefined) ?? []).map(ID => ({ ID }))];
    if (pols.length) b.Policies = pols;
    const roles = [...((flags['role-name'] as string[] | undefined) ?? []).map(Name => ({ Name })), ...((flags['role-id'] as string[] | undefined) ?? []).map(ID => ({ ID }))];
    if (roles.length) b.Roles = roles;
    const si = (flags['service-identity'] as string[] | undefined) ?? [];
    if (si.length) b.ServiceIdentities = si.map(s => { const [n, dcs] = s.split(':'); return { ServiceName: n, ...(dcs ? { Datacenters: dcs.split(',') } : {}) }; });
    const ni = (flags['node-identity'] as string[] | undefined) ?? [];
    if (ni.length) b.NodeIdentities = ni.map(s => { const [n, dc] = s.split(':'); return { NodeName: n, Datacenter: dc }; });
    return b;
  };
  switch (sub) {
    case 'create': {
      const b = bodyFromFlags();
      if (flags.local) b.Local = true;
      if (flags['expires-ttl']) b.ExpirationTTL = flags['expires-ttl'];
      if (flags.accessor) b.AccessorID = flags.accessor;
      if (flags.secret) b.SecretID = flags.secret;
      return show(flags, (await api.json<J>('PUT', '/v1/acl/token', b)).data, printToken);
    }
    case 'list': {
      const all = (await api.json<J[]>('GET', '/v1/acl/tokens')).data;
      if (flags.format === 'json') { out(JSON.stringify(all, null, 4) + '\n'); return 0; }
      for (const t of all) { printToken(t); out('\n'); }
      return 0;
    }
    case 'read': {
      if (flags.self) return show(flags, (await api.json<J>('GET', '/v1/acl/token/self')).data, printToken);
      if (!flags.id) return fail('Must specify the -id parameter');
      return show(flags, (await api.json<J>('GET', `/v1/acl/token/${encPath(flags.id as string)}`)).data, printToken);
    }
    case 'update': {
      if (!flags.id) return fail('Cannot update a token without specifying the -id parameter');
      const cur = (await api.json<J>('GET', `/v1/acl/token/${encPath(flags.id as string)}`)).data;
      const b = { AccessorID: cur.AccessorID, Description: cur.Description, Policies: cur.Policies, Roles: cur.Roles, ServiceIdentities: cur.ServiceIdentities, NodeIdentities: cur.NodeIdentities, ...bodyFromFlags() };
      return show(flags, (await api.json<J>('PUT', `/v1/acl/token/${encPath(flags.id as string)}`, b)).data, printToken);
    }
    case 'clone': {
      if (!flags.id) return fail('Must specify the -id parameter');
      return show(flags, (await api.json<J>('PUT', `/v1/acl/token/${encPath(flags.id as string)}/clone`, { Description: flags.description ?? '' })).data, printToken);
    }
    case 'delete': {
      if (!flags.id) return fail('Must specify the -id parameter');
      await api.json('DELETE', `/v1/acl/token/${encPath(flags.id as string)}`);
      out(`Token "${flags.id}" deleted successfully\n`);
      return 0;
    }
    default: return fail('Usage: roster acl token <create|list|read|update|clone|delete> [options]');
  }
}

async function role(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const { flags, api } = parseApiFlags(rest, { name: 'string', description: 'string', 'policy-name': 'list', 'policy-id': 'list', id: 'string', format: 'string' });
  const pols = () => [...((flags['policy-name'] as string[] | undefined) ?? []).map(Name => ({ Name })), ...((flags['policy-id'] as string[] | undefined) ?? []).map(ID => ({ ID }))];
  const id = async () => (flags.id as string | undefined) ?? (flags.name ? (await api.json<J>('GET', `/v1/acl/role/name/${encPath(flags.name as string)}`)).data.ID : undefined);
  switch (sub) {
    case 'create':
      if (!flags.name) return fail('Missing require \'-name\' flag');
      return show(flags, (await api.json<J>('PUT', '/v1/acl/role', { Name: flags.name, Description: flags.description ?? '', Policies: pols() })).data, printRole);
    case 'list': {
      const all = (await api.json<J[]>('GET', '/v1/acl/roles')).data;
      if (flags.format === 'json') { out(JSON.stringify(all, null, 4) + '\n'); return 0; }
      for (const r of all) { printRole(r); out('\n'); }
      return 0;
    }
    case 'read': { const i = await id(); if (!i) return fail('Must specify either the -id or -name parameters'); return show(flags, (await api.json<J>('GET', `/v1/acl/role/${i}`)).data, printRole); }
    case 'update': {
      const i = await id();
      if (!i) return fail('Must specify the -id parameter');
      const cur = (await api.json<J>('GET', `/v1/acl/role/${i}`)).data;
      const p = pols();
      return show(flags, (await api.json<J>('PUT', `/v1/acl/role/${i}`, { ...cur, Name: flags.name ?? cur.Name, Description: flags.description ?? cur.Description, Policies: p.length ? p : cur.Policies })).data, printRole);
    }
    case 'delete': {
      const i = await id();
      if (!i) return fail('Must specify the -id parameter');
      await api.json('DELETE', `/v1/acl/role/${i}`);
      out(`Role "${i}" deleted successfully\n`);
      return 0;
    }
    default: return fail('Usage: roster acl role <create|list|read|update|delete> [options]');
  }
}

export async function aclCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    switch (sub) {
      case 'bootstrap': {
        const { flags, args, api } = parseApiFlags(rest, { format: 'string' });
        const body = args[0] ? { BootstrapSecret: (args[0] === '-' ? readFileSync(0, 'utf8') : readFileSync(args[0], 'utf8')).trim() } : undefined;
        const r = await api.raw('PUT', '/v1/acl/bootstrap', body ? JSON.stringify(body) : undefined);
        if (r.status !== 200) return fail(`Failed ACL bootstrapping: Unexpected response code: ${r.status} (${r.text.trim()})`);
        return show(flags, JSON.parse(r.text), printToken);
      }
      case 'policy': return await policy(rest);
      case 'token': return await token(rest);
      case 'role': return await role(rest);
      case 'set-agent-token': {
        const { args, api } = parseApiFlags(rest, {});
        if (args.length !== 2) return fail('Missing TYPE and TOKEN arguments');
        await api.json('PUT', `/v1/agent/token/${encPath(args[0]!)}`, { Token: args[1] });
        out('ACL token set successfully\n');
        return 0;
      }
      default:
        process.stderr.write(USAGE);
        return sub === undefined ? 0 : 1;
    }
  } catch (err) {
    if (err instanceof HelpRequested) throw err;
    return fail(`Error! ${(err as Error).message}`);
  }
}
