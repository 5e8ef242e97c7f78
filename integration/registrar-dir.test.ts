/**
 * Integration: `roster registrar` processes mirroring a folder onto a real agent — add/modify/delete
 * files, two registrars on one folder (no fighting: the index settles), SIGKILL keeps services, and
 * the agent's own -config-dir registering its definitions.
 */
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgent, ROSTER, type TestAgent } from './helpers/agent.ts';

import { sleep, until as untilMs } from './helpers/wait.ts';
import { dig } from './helpers/dig.ts';

const until = <T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 5000) => untilMs(what, fn, timeoutMs);

function registrar(t: { teardown(fn: () => unknown): void }, a: TestAgent, dir: string, extra: string[] = []): ChildProcess & { out(): string } {
  const p = spawn(ROSTER, ['registrar', '-config-dir', dir, '-http-addr', a.http, '-debounce-ms', '100', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout!.on('data', d => { out += String(d); });
  p.stderr!.on('data', d => { out += String(d); });
  t.teardown(() => { p.kill('SIGKILL'); });
  return Object.assign(p, { out: () => out });
}

async function services(a: TestAgent): Promise<Record<string, { Port: number; Tags: string[]; Meta: Record<string, string> }>> {
  const s = (await a.req('GET', '/v1/agent/services')).json;
  delete s.consul;
  return s;
}

const write = (dir: string, name: string, v: unknown) => writeFileSync(join(dir, name), typeof v === 'string' ? v : JSON.stringify(v));

test('registrar: add, modify and delete definition files → the catalog follows', async t => {
  const a = await startAgent(t);
  const dir = mkdtempSync(join(tmpdir(), 'roster-defs-'));
  write(dir, 'web.json', { service: { name: 'web', port: 80, tags: ['v1'], meta: { team: 'x' }, check: { ttl: '30s' } } });
  const r = registrar(t, a, dir);
  await until('web registered', async () => (await services(a)).web);
  const web = (await services(a)).web!;
  t.is(web.Port, 80);
  t.is(web.Meta.team, 'x');
  t.regex(web.Meta['roster-registrar']!, /^[0-9a-f]{12}$/);
  // The TTL check came along (critical until someone passes it).
  t.is((await a.req('GET', '/v1/agent/checks')).json['service:web'].Status, 'critical');

  write(dir, 'more.json', { services: [{ name: 'db', id: 'db-1', port: 5432 }, { name: 'db', id: 'db-2', port: 5433 }] });
  await until('db added', async () => (await services(a))['db-2']);
  write(dir, 'web.json', { service: { name: 'web', port: 8080, tags: ['v2'] } });
  await until('web modified', async () => (await services(a)).web?.Port === 8080);
  t.deepEqual((await services(a)).web!.Tags, ['v2']);
  // A half-written file never deregisters what it had.
  write(dir, 'more.json', '{"services": [');
  await sleep(500);
  t.truthy((await services(a))['db-1']);
  rmSync(join(dir, 'more.json'));
  await until('db removed', async () => !(await services(a))['db-1'] && !(await services(a))['db-2']);
  // SIGHUP resyncs: a manual deregistration comes back.
  await a.req('PUT', '/v1/agent/service/deregister/web');
  r.kill('SIGHUP');
  await until('web restored by SIGHUP', async () => (await services(a)).web);
  // Something registered by hand (no owner Meta) is never removed.
  await a.req('PUT', '/v1/agent/service/register', { Name: 'manual', Port: 1 });
  rmSync(join(dir, 'web.json'));
  await until('web removed', async () => !(await services(a)).web);
  t.truthy((await services(a)).manual);
  t.regex(r.out(), /synced/);
});

test('registrar: two registrars on one folder do not fight; SIGKILL leaves the services registered', async t => {
  const a = await startAgent(t);
  const dir = mkdtempSync(join(tmpdir(), 'roster-defs-'));
  write(dir, 'a.json', { services: [{ name: 'api', id: 'api-1', port: 1 }, { name: 'api', id: 'api-2', port: 2 }] });
  const r1 = registrar(t, a, dir, ['-resync', '300ms']);
  const r2 = registrar(t, a, dir, ['-resync', '300ms']);
  await until('both registered', async () => (await services(a))['api-2']);
  await sleep(700);
  const idx = async () => Number((await a.req('GET', '/v1/catalog/services')).headers.get('x-consul-index'));
  const i1 = await idx();
  await sleep(1500); // ~5 resyncs of each registrar
  t.is(await idx(), i1, 'identical registrations must not bump the index');
  write(dir, 'a.json', { services: [{ name: 'api', id: 'api-1', port: 11 }] });
  await until('both applied the change', async () => { const s = await services(a); return s['api-1']?.Port === 11 && !s['api-2']; });
  await sleep(1000);
  const i2 = await idx();
  await sleep(1000);
  t.is(await idx(), i2);
  r1.kill('SIGKILL');
  r2.kill('SIGKILL');
  await sleep(500);
  t.is((await services(a))['api-1']?.Port, 11);
});

test('registrar: folders of different registrars are kept apart (ownership)', async t => {
  const a = await startAgent(t);
  const d1 = mkdtempSync(join(tmpdir(), 'roster-defs-'));
  const d2 = mkdtempSync(join(tmpdir(), 'roster-defs-'));
  write(d1, 's.json', { service: { name: 'one', port: 1 } });
  write(d2, 's.json', { service: { name: 'two', port: 2 } });
  registrar(t, a, d1);
  registrar(t, a, d2);
  await until('both', async () => { const s = await services(a); return s.one && s.two; });
  rmSync(join(d1, 's.json'));
  await until('one removed', async () => !(await services(a)).one);
  await sleep(300);
  t.truthy((await services(a)).two);
});

test('registrar: the agent registers the definitions in its own -config-dir', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'roster-cfg-'));
  write(dir, 'svc.json', { service: { name: 'cfgweb', port: 7000, tags: ['a'], check: { ttl: '30s' } } });
  write(dir, 'more.json', { services: [{ name: 'cfgdb', port: 5432 }] });
  // HCL, as Consul reads it: blocks, a check with its own block, Meta as an HCL map.
  writeFileSync(join(dir, 'cache.hcl'), 'service {\n  name = "cfgcache"\n  port = 6379\n  tags = ["hcl"]\n  meta = {\n    tier = "cache"\n  }\n  check {\n    ttl = "30s"\n  }\n}\n');
  // The same dir also holds agent settings in HCL; the agent reads them at start.
  writeFileSync(join(dir, 'agent.hcl'), 'dns_config {\n  node_ttl = "7s"\n}\n');
  const a = await startAgent(t, { args: ['-config-dir', dir] });
  const s = await until('config services', async () => { const x = await services(a); return x.cfgweb && x.cfgdb && x.cfgcache && x; });
  t.is(s.cfgweb?.Port, 7000);
  t.is(s.cfgdb?.Port, 5432);
  t.like(s.cfgcache, { Port: 6379, Tags: ['hcl'], Meta: { tier: 'cache' } });
  t.is((await a.req('GET', '/v1/agent/checks')).json['service:cfgcache']?.Type, 'ttl');
  t.is((await dig(a.dnsPort, `${a.node}.node.consul`, 'A')).answer[0]?.ttl, 7, 'dns_config from agent.hcl applies');
  t.regex(s.cfgweb?.Meta['roster-registrar'] ?? '', /^[0-9a-f]{12}$/, 'owned by the folder, like a registrar');
  // The agent follows its config dir: a changed and a deleted definition file.
  write(dir, 'svc.json', { service: { name: 'cfgweb', port: 7001 } });
  rmSync(join(dir, 'more.json'));
  await until('config dir followed', async () => { const x = await services(a); return x.cfgweb?.Port === 7001 && !x.cfgdb && x; });
  t.pass();
});

test('registrar: the agent re-reads -config-file service definitions on SIGHUP', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'roster-cfg-'));
  const file = join(dir, 'agent.json');
  writeFileSync(file, JSON.stringify({ service: { name: 'hupweb', port: 7100 } }));
  const a = await startAgent(t, { args: ['-config-file', file] });
  await until('config-file service', async () => (await services(a)).hupweb);
  t.is((await services(a)).hupweb?.Meta['roster-registrar'], 'agent-config');
  writeFileSync(file, JSON.stringify({ services: [{ name: 'hupweb', port: 7101 }, { name: 'hupdb', port: 7102 }] }));
  a.proc.kill('SIGHUP');
  const s = await until('reloaded', async () => { const x = await services(a); return x.hupweb?.Port === 7101 && x.hupdb && x; });
  t.is(s.hupdb?.Port, 7102);
});
