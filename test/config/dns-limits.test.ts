/** config: Roster's DNS limits in dns_config (issue 11 items 5-7), from HCL and JSON files. */
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAgentConfig } from '../../src/config/load.ts';

const file = (name: string, text: string): string => {
  const p = join(mkdtempSync(join(tmpdir(), 'roster-cfg-')), name);
  writeFileSync(p, text);
  return p;
};

test('config: dns_config TCP limits, recursor cap and rate_limit from HCL', t => {
  const f = file('a.hcl', 'dns_config {\n tcp_read_timeout = "1s"\n tcp_idle_timeout = "5s"\n tcp_max_conns = 100\n tcp_max_conns_per_client = 8\n recursor_max_in_flight = 50\n rate_limit {\n enabled = true\n responses_per_second = 5\n slip = 0\n window = 10\n ipv4_prefix_length = 32\n exempt_loopback = false\n }\n}\n');
  const d = loadAgentConfig({ dev: true, 'config-file': [f] }).dns;
  t.deepEqual([d.tcpReadTimeoutMs, d.tcpIdleTimeoutMs, d.tcpMaxConns, d.tcpMaxConnsPerClient, d.recursorMaxInFlight], [1000, 5000, 100, 8, 50]);
  t.deepEqual(d.rateLimit, { enabled: true, responsesPerSecond: 5, slip: 0, window: 10, ipv4PrefixLength: 32, ipv6PrefixLength: 56, exemptLoopback: false, tableSize: 100_000 });
});

test('config: defaults: 2 s / 8 s, 1,024 connections, 64 per client, 150 in flight, rate limit auto', t => {
  const d = loadAgentConfig({ dev: true }).dns;
  t.deepEqual([d.tcpReadTimeoutMs, d.tcpIdleTimeoutMs, d.tcpMaxConns, d.tcpMaxConnsPerClient, d.recursorMaxInFlight, d.rateLimit.enabled], [2000, 8000, 1024, 64, 150, 'auto']);
});

test('config: bad dns limits are refused with the key named', t => {
  t.throws(() => loadAgentConfig({ dev: true, 'config-file': [file('b.json', '{"dns_config":{"tcp_max_conns_per_client":0}}')] }), { message: /dns_config.tcp_max_conns_per_client must be an integer >= 1/ });
  t.throws(() => loadAgentConfig({ dev: true, 'config-file': [file('c.json', '{"dns_config":{"rate_limit":{"rps":5}}}')] }), { message: /unknown dns_config.rate_limit key "rps"/ });
  t.throws(() => loadAgentConfig({ dev: true, 'config-file': [file('d.json', '{"dns_config":{"rate_limit":{"enabled":"yes"}}}')] }), { message: /enabled must be true, false or "auto"/ });
});
