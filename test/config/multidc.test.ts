/** config: WAN pool and cross-datacenter settings (flags, JSON and HCL), with Consul's names. */
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAgentConfig } from '../../src/config/load.ts';
import { parseFlags } from '../../src/cli/flags.ts';
import { AGENT_FLAGS } from '../../src/config/load.ts';

const file = (name: string, text: string): string => {
  const p = join(mkdtempSync(join(tmpdir(), 'roster-cfg-')), name);
  writeFileSync(p, text);
  return p;
};

test('config: WAN defaults are Consul\'s: serf_wan 8302, retry_interval_wan 30s; forwarding 5 s; dc answers cached 5 s', t => {
  const c = loadAgentConfig({ dev: true });
  t.is(c.ports.serfWan, 8302);
  t.is(c.retryIntervalWanMs, 30_000);
  t.is(c.dcForwardTimeoutMs, 5000);
  t.is(c.dns.dcCacheTtlMs, 5000);
  t.deepEqual([c.startJoinWan, c.retryJoinWan], [[], []]);
});

test('config: retry_join_wan, start_join_wan, gossip_wan, ports.serf_wan, dc_forward_timeout, dns_config.dc_cache_ttl from HCL; flags add to them', t => {
  const f = file('w.hcl', 'retry_join_wan = ["10.0.0.1", "10.0.0.2:8302"]\nstart_join_wan = ["10.0.0.3"]\nretry_interval_wan = "5s"\ndc_forward_timeout = "2s"\nports { serf_wan = 9302 }\ngossip_wan {\n probe_interval = "2s"\n suspicion_mult = 5\n}\ndns_config { dc_cache_ttl = "10s" }\n');
  const { flags } = parseFlags(['-dev', '-config-file', f, '-retry-join-wan', '10.0.0.9', '-join-wan', '10.0.0.8'], AGENT_FLAGS);
  const c = loadAgentConfig(flags);
  t.deepEqual(c.retryJoinWan, ['10.0.0.1', '10.0.0.2:8302', '10.0.0.9']);
  t.deepEqual(c.startJoinWan, ['10.0.0.3', '10.0.0.8']);
  t.is(c.retryIntervalWanMs, 5000);
  t.is(c.dcForwardTimeoutMs, 2000);
  t.is(c.ports.serfWan, 9302);
  t.deepEqual(c.gossipWan, { probeIntervalMs: 2000, suspicionMult: 5 });
  t.is(c.dns.dcCacheTtlMs, 10_000);
});

test('config: -serf-wan-port -1 turns the WAN pool off; other negative ports are refused', t => {
  t.is(loadAgentConfig(parseFlags(['-dev', '-serf-wan-port', '-1'], AGENT_FLAGS).flags).ports.serfWan, -1);
  t.throws(() => loadAgentConfig(parseFlags(['-dev', '-serf-wan-port', '-2'], AGENT_FLAGS).flags), { message: /invalid serfWan port -2/ });
  t.throws(() => loadAgentConfig(parseFlags(['-dev', '-serf-lan-port', '-1'], AGENT_FLAGS).flags), { message: /invalid serfLan port -1/ });
  t.throws(() => loadAgentConfig({ dev: true, 'config-file': [file('g.json', '{"gossip_wan":{"nope":1}}')] }), { message: /unknown or invalid gossip_wan key "nope"/ });
  t.throws(() => loadAgentConfig(parseFlags(['-dev', '-serf-wan-port', '-1', '-retry-join-wan', '10.0.0.1'], AGENT_FLAGS).flags), { message: /need the WAN pool/ });
});
