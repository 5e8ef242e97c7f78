import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENT_FLAGS, loadAgentConfig } from '../../src/config/load.ts';
import { parseFlags } from '../../src/cli/flags.ts';
import { parseExact, rawInt } from '../../src/util/json.ts';

const load = (...args: string[]) => loadAgentConfig(parseFlags(['-dev', '-data-dir', '/tmp/roster-cfg-test', ...args], AGENT_FLAGS).flags, {});

test('config: node_meta from files and HCL, -node-meta key:value (and key alone) on top', t => {
  const c = load('-hcl', 'node_meta {\n rack = "r1"\n zone = "a"\n}', '-node-meta', 'zone:b', '-node-meta', 'flag');
  t.deepEqual(c.nodeMeta, { rack: 'r1', zone: 'b', flag: '' });
  t.throws(() => load('-node-meta', 'consul-x:1'), { message: /Key prefix 'consul-' is reserved/ });
  t.throws(() => load('-node-meta', 'bad key:1'), { message: /Key contains invalid characters/ });
  t.throws(() => load('-hcl', 'node_meta = "x"'), { message: '-hcl: node_meta must be a map of strings' });
});

test('config: an empty config file is skipped, as Consul does', t => {
  const dir = mkdtempSync(join(tmpdir(), 'roster-cfg-'));
  writeFileSync(join(dir, 'empty.json'), '  \n');
  writeFileSync(join(dir, 'empty.hcl'), '');
  t.is(load('-config-file', join(dir, 'empty.json'), '-config-file', join(dir, 'empty.hcl')).datacenter, 'dc1');
});

test('config: script checks are off by default; enable_script_checks / enable_local_script_checks and their flags', t => {
  const d = load();
  t.false(d.enableScriptChecks);
  t.false(d.enableLocalScriptChecks);
  t.true(load('-hcl', 'enable_script_checks = true').enableScriptChecks);
  t.true(load('-enable-local-script-checks').enableLocalScriptChecks);
});

test('config: tls { defaults { ... } }, tls.https over it, and the older top-level keys; HTTPS needs a certificate', t => {
  const c = load('-hcl', 'ports {\n https = 8501\n}\ntls {\n defaults {\n ca_file = "/ca"\n cert_file = "/c"\n key_file = "/k"\n verify_incoming = true\n }\n https {\n cert_file = "/c2"\n }\n}');
  t.is(c.ports.https, 8501);
  t.deepEqual(c.tls, { caFile: '/ca', certFile: '/c2', keyFile: '/k', verifyIncoming: true });
  const old = load('-hcl', 'ca_file = "/ca"\ncert_file = "/c"\nkey_file = "/k"\nverify_incoming = true\nports {\n https = 8501\n http = -1\n}');
  t.deepEqual(old.tls, { caFile: '/ca', certFile: '/c', keyFile: '/k', verifyIncoming: true });
  t.is(old.ports.http, -1);
  t.is(load().ports.https, -1);
  t.throws(() => load('-https-port', '8501'), { message: 'ports.https needs tls cert_file and key_file' });
  t.throws(() => load('-hcl', 'ports {\n https = 8501\n}\ncert_file = "/c"\nkey_file = "/k"\nverify_incoming = true'), { message: /verify_incoming needs ca_file/ });
  t.throws(() => load('-hcl', 'ports {\n dns = -1\n}'), { message: 'invalid dns port -1' });
});

test('json: integers past 2^53 parse to exact BigInts and serialise digit for digit', t => {
  const v = parseExact('{"Flags":18446744073709551615,"Small":3,"F":1.5,"Neg":-9223372036854775808}') as Record<string, unknown>;
  t.is(v.Flags, 18446744073709551615n);
  t.is(v.Small, 3);
  t.is(v.F, 1.5);
  t.is(v.Neg, -9223372036854775808n);
  t.is(JSON.stringify({ a: rawInt('3304740253564472344'), b: 16210313421097356768n }), '{"a":3304740253564472344,"b":16210313421097356768}');
  t.throws(() => rawInt('1e3'));
});
