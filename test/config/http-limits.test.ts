import test from 'ava';
import { AGENT_FLAGS, loadAgentConfig } from '../../src/config/load.ts';
import { parseFlags } from '../../src/cli/flags.ts';

const load = (...args: string[]) => loadAgentConfig(parseFlags(['-dev', '-data-dir', '/tmp/roster-cfg-test', ...args], AGENT_FLAGS).flags, {});

test('config: HTTP limits default to Consul\'s (200 connections per client) and legacy GET is off', t => {
  const c = load();
  t.deepEqual(c.http, { maxConnsPerClient: 200, maxBlockingPerClient: 200, maxHeaderBytes: 65536, headerTimeoutMs: 10_000, requestTimeoutMs: 30_000 });
  t.false(c.legacyGetCompat);
});

test('config: limits { ... } and http_config { ... } from HCL; -legacy-get-compat turns the compatibility on', t => {
  const c = load('-legacy-get-compat', '-hcl', 'limits {\n http_max_conns_per_client = 500\n http_max_blocking_queries_per_client = 0\n http_header_timeout = "2s"\n http_request_timeout = "1m"\n}\nhttp_config {\n max_header_bytes = 1048576\n}');
  t.deepEqual(c.http, { maxConnsPerClient: 500, maxBlockingPerClient: 0, maxHeaderBytes: 1_048_576, headerTimeoutMs: 2000, requestTimeoutMs: 60_000 });
  t.true(c.legacyGetCompat);
  t.true(load('-hcl', 'http_config {\n legacy_get_compat = true\n}').legacyGetCompat);
  t.throws(() => load('-hcl', 'limits {\n http_max_conns_per_client = -1\n}'), { message: '-hcl: limits.http_max_conns_per_client must be a non-negative integer' });
});
