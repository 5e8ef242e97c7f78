/** protection: dns_config.service_protection_threshold (answers widened when too few pass), its wildcard keys and config. */
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { answerInstances, protectionStats } from '../../src/catalog/protection.ts';
import type { CheckRec, HealthStatus, Instance } from '../../src/catalog/model.ts';
import { wildcardLookup } from '../../src/util/wildcard.ts';
import { loadAgentConfig } from '../../src/config/load.ts';

const chk = (id: string, status: HealthStatus): CheckRec => ({ Node: 'n', CheckID: id, Name: id, Status: status, Notes: '', Output: '', ServiceID: 's', ServiceName: 'web', ServiceTags: [], Type: '', Interval: '', Timeout: '', ExposedPort: 0, Definition: {}, CreateIndex: 1, ModifyIndex: 1 });
const inst = (id: string, ...checks: CheckRec[]): Instance => ({
  node: { ID: '', Node: `n${id}`, Address: '10.0.0.1', Datacenter: 'dc1', TaggedAddresses: {}, Meta: {}, CreateIndex: 1, ModifyIndex: 1 },
  service: { ID: id, Service: 'web', Tags: [], Address: '', Meta: {}, Port: 80, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, CreateIndex: 1, ModifyIndex: 1 },
  checks,
});

test('protection: below the threshold all instances (but those in maintenance) are answered; at or above it only the healthy', t => {
  const ten = Array.from({ length: 10 }, (_, i) => inst(`i${i}`, chk('c', i < 2 ? 'passing' : 'critical')));
  const before = protectionStats.total;
  t.is(answerInstances(ten, false, undefined, 'web').length, 2, 'off by default');
  t.is(answerInstances(ten, false, 0.5, 'web').length, 10, '2/10 < 0.5');
  t.is(protectionStats.total, before + 1);
  t.is(protectionStats.byService.get('web')! >= 1, true);
  t.is(answerInstances(ten, false, 0.2, 'web').length, 2, '2/10 is not below 0.2');
  const maint = [...ten, inst('m', chk('_service_maintenance:m', 'critical'))];
  t.is(answerInstances(maint, true, 0.5, 'web').length, 10, 'the one in maintenance stays out');
  const warn = [inst('a', chk('c', 'warning')), inst('b', chk('c', 'passing'))];
  t.is(answerInstances(warn, false, 0.6, 'web').length, 2, 'warning counts as not passing for the fraction');
  t.is(answerInstances(warn, true, 0.5, 'web').length, 1);
});

test('protection: wildcard keys as service_ttl (exact, longest prefix*, *) and config from JSON and HCL', t => {
  const f = wildcardLookup({ 'web': 0.5, 'we*': 0.3, 'w*': 0.2, '*': 0.1 });
  t.is(f('web'), 0.5);
  t.is(f('weber'), 0.3);
  t.is(f('wx'), 0.2);
  t.is(f('db'), 0.1);
  t.is(wildcardLookup({})('x'), undefined);
  const dir = mkdtempSync(join(tmpdir(), 'roster-cfg-'));
  const hcl = join(dir, 'a.hcl');
  writeFileSync(hcl, 'dns_config {\n service_protection_threshold {\n "web" = 0.5\n "*" = 0.2\n }\n}\neureka {\n renewal_percent_threshold = 0.7\n expected_client_renewal_interval = "10s"\n self_preservation_scope = "all"\n eviction_interval = "5s"\n}\n');
  const c = loadAgentConfig({ dev: true, 'config-file': [hcl] });
  t.deepEqual(c.dns.serviceProtectionThreshold, { web: 0.5, '*': 0.2 });
  t.like(c.eureka, { renewalPercentThreshold: 0.7, expectedClientRenewalIntervalMs: 10_000, selfPreservationScope: 'all', evictionIntervalMs: 5000, enableSelfPreservation: true, renewalRateWindowMs: 60_000 });
  const json = join(dir, 'b.json');
  writeFileSync(json, JSON.stringify({ eureka: { enable_self_preservation: false, renewal_rate_window: '30s' } }));
  t.like(loadAgentConfig({ dev: true, 'config-file': [json] }).eureka, { enableSelfPreservation: false, renewalRateWindowMs: 30_000 });
  t.like(loadAgentConfig({ dev: true, hcl: ['eureka { enable_self_preservation = false \n eviction_interval = "2s" }'] }).eureka, { enableSelfPreservation: false, evictionIntervalMs: 2000 }, '-hcl on the command line');
  const bad = (name: string, text: string) => { const p = join(dir, name); writeFileSync(p, text); return () => loadAgentConfig({ dev: true, 'config-file': [p] }); };
  t.throws(bad('c.json', '{"eureka":{"renewal_percent_threshold":1.5}}'), { message: /renewal_percent_threshold must be a number between 0 and 1/ });
  t.throws(bad('d.json', '{"eureka":{"self_preservation_scope":"some"}}'), { message: /self_preservation_scope must be "eureka" or "all"/ });
  t.throws(bad('e.json', '{"eureka":{"bogus":1}}'), { message: /unknown eureka key "bogus"/ });
  t.throws(bad('f.json', '{"dns_config":{"service_protection_threshold":{"web":2}}}'), { message: /service_protection_threshold.web must be a number between 0 and 1/ });
});
