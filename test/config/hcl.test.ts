import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseHcl } from '../../src/config/hcl.ts';
import { AGENT_FLAGS, loadAgentConfig, readConfigFile } from '../../src/config/load.ts';
import { parseFlags } from '../../src/cli/flags.ts';

test('hcl: blocks become objects, list-valued keys (services, checks) stay lists, as Consul patches HCL', t => {
  t.deepEqual(parseHcl('ports { http = 8501 }\nrecursors = ["1.1.1.1"]\ndns_config { service_ttl { "*" = "5s" } }\nempty = []', 'a.hcl'), {
    ports: { http: 8501 }, recursors: ['1.1.1.1'], dns_config: { service_ttl: { '*': '5s' } }, empty: null,
  });
  t.deepEqual(parseHcl('services { name = "a" }\nservices { name = "b" checks { ttl = "1s" } }', 'b.hcl'), {
    services: [{ name: 'a' }, { name: 'b', checks: [{ ttl: '1s' }] }],
  });
  t.deepEqual(parseHcl('', 'empty.hcl'), {});
  t.throws(() => parseHcl('x = [1,', 'bad.hcl'), { message: /^bad\.hcl: At 1:\d+: / });
});

test('hcl: agent config files and -hcl fragments, the same keys as the JSON form', t => {
  const dir = mkdtempSync(join(tmpdir(), 'roster-hcl-'));
  const file = join(dir, 'agent.hcl');
  writeFileSync(file, 'datacenter = "dc7"\nnode_name = "hcl-node"\nports {\n  dns = 8653\n}\nrecursors = ["127.0.0.1:5353"]\nservice {\n  name = "fromhcl"\n  port = 99\n}\n');
  t.like(readConfigFile(file), { datacenter: 'dc7', ports: { dns: 8653 } });
  const { flags } = parseFlags(['-dev', '-config-file', file, '-hcl', 'node_name = "from-flag"', '-data-dir', dir], AGENT_FLAGS);
  const cfg = loadAgentConfig(flags, {});
  t.is(cfg.datacenter, 'dc7');
  t.is(cfg.nodeName, 'from-flag', '-hcl fragments apply after the files');
  t.is(cfg.ports.dns, 8653);
  t.deepEqual(cfg.recursors, ['127.0.0.1:5353']);
  t.is((cfg.services as { name: string }[]).map(s => s.name).join(), 'fromhcl');
  writeFileSync(join(dir, 'broken.hcl'), 'ports {\n  dns = \n');
  t.throws(() => readConfigFile(join(dir, 'broken.hcl')), { message: new RegExp(`^Error parsing ${join(dir, 'broken.hcl')}: At \\d+:\\d+: `) });
  const bad = parseFlags(['-dev', '-hcl', 'node_name = "unterminated', '-data-dir', dir], AGENT_FLAGS).flags;
  t.throws(() => loadAgentConfig(bad, {}), { message: /^Error parsing -hcl: At 1:\d+: / });
});
