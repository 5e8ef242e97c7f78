import test from 'ava';
import { AGENT_FLAGS, loadAgentConfig } from '../../src/config/load.ts';
import { parseFlags } from '../../src/cli/flags.ts';
import { applyTelemetry } from '../../src/agent/telemetry.ts';
import { metrics } from '../../src/util/metrics/index.ts';

const load = (...args: string[]) => loadAgentConfig(parseFlags(['-dev', '-data-dir', '/tmp/roster-cfg-test', ...args], AGENT_FLAGS).flags, {});

test.serial('telemetry: defaults need no block (Prometheus on, consul prefix, no host name)', t => {
  const c = load();
  t.deepEqual(c.telemetry, { disable: false, metricsPrefix: 'consul', prometheusRetentionMs: 0 });
  applyTelemetry(c);
  t.deepEqual(metrics.settings, { enabled: true, prefix: 'consul', retentionMs: 60_000, hostname: '' });
});

test.serial('telemetry { ... } as Consul operators write it; other sinks accepted; bad values refused', t => {
  const c = load('-hcl', 'telemetry {\n prometheus_retention_time = "30s"\n disable_hostname = true\n statsd_address = "127.0.0.1:8125"\n metrics_prefix = "roster"\n}');
  t.deepEqual(c.telemetry, { disable: false, metricsPrefix: 'roster', prometheusRetentionMs: 30_000, disableHostname: true });
  applyTelemetry(c);
  t.is(metrics.settings.retentionMs, 30_000);
  t.is(metrics.settings.hostname, '');
  applyTelemetry(load('-hcl', 'telemetry {\n disable_hostname = false\n}'));
  t.regex(metrics.settings.hostname, /^[A-Za-z0-9_-]+$/);
  t.false((() => { applyTelemetry(load('-hcl', 'telemetry {\n disable = true\n}')); return metrics.settings.enabled; })());
  t.throws(() => load('-hcl', 'telemetry {\n prometheus_retention_time = "soon"\n}'));
  t.throws(() => load('-hcl', 'telemetry {\n disable_hostname = "yes"\n}'), { message: '-hcl: telemetry.disable_hostname must be true or false' });
  t.throws(() => load('-hcl', 'telemetry {\n prometheus_retentoin_time = "1m"\n}'), { message: '-hcl: unknown telemetry key "prometheus_retentoin_time"' });
  applyTelemetry(load());
});
