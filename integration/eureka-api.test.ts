/**
 * Eureka's REST API against a real agent over real sockets (curl-like raw HTTP, real Redis, real
 * `dig`): XML both ways and gzip, bad input (Eureka's 400/404, nothing changed), status overrides
 * and metadata, lease expiry and re-registration after a 404 renew, self-preservation (20 leases: 1
 * lapses and is evicted; then 15 of 19 stop and none is evicted while the mode is reported, TTL
 * checks held too with scope "all"), and the DNS protection threshold.
 */
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { request } from 'node:http';
import { Redis } from 'ioredis';
import { startAgent, type TestAgent } from './helpers/agent.ts';
import { testRedis } from './helpers/redis.ts';
import { dig } from './helpers/dig.ts';
import { sleep, until } from './helpers/wait.ts';

const DC = { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' };
const inst = (app: string, id: string, ip: string, over: Record<string, unknown> = {}) => ({
  instance: { instanceId: id, hostName: `${id}-host`, app, ipAddr: ip, vipAddress: `${app.toLowerCase()}.vip`, status: 'UP', port: { $: 8080, '@enabled': 'true' }, dataCenterInfo: DC, ...over },
});

function configFile(o: unknown): string {
  const p = join(mkdtempSync(join(tmpdir(), 'roster-eureka-')), 'c.json');
  writeFileSync(p, JSON.stringify(o));
  return p;
}

/** Raw HTTP (fetch would decompress gzip and hide it). */
function raw(agent: TestAgent, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: agent.httpPort, method, path, headers }, res => {
      const chunks: Buffer[] = [];
      res.on('data', c => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
const JSONH = { 'Content-Type': 'application/json', Accept: 'application/json' };
const post = (a: TestAgent, base: string, app: string, b: unknown) => raw(a, 'POST', `${base}/apps/${app}`, JSON.stringify(b), JSONH);
const getJson = async (a: TestAgent, path: string) => JSON.parse((await raw(a, 'GET', path, undefined, { Accept: 'application/json' })).body.toString());

let a: TestAgent;
test.before(async () => {
  a = await startAgent(null, {
    args: ['-config-file', configFile({
      // The rate window is shorter than the leases (as Eureka's 1 min against 90 s): a mass stop shows in the rate before leases lapse.
      eureka: { eviction_interval: '1s', expected_client_renewal_interval: '1s', renewal_rate_window: '3s', self_preservation_scope: 'all' },
      dns_config: { service_protection_threshold: { prot: 0.5 } },
    })],
    // DeregisterCriticalServiceAfter reaping checked every 200 ms, from 1 s (Consul's dev-only knobs), for scope "all".
    env: { ROSTER_CHECK_REAP_INTERVAL: '200ms', ROSTER_CHECK_DEREGISTER_MIN: '1s' },
  });
});
test.after.always(async () => { await a?.stop(); });

test.serial('eureka api: XML register and reads, JSON reads, gzip when asked, both base paths', async t => {
  const xml = '<instance><instanceId>x-1</instanceId><hostName>xhost</hostName><app>XMLAPP</app><ipAddr>127.0.0.81</ipAddr><status>UP</status>'
    + '<port enabled="true">7001</port><vipAddress>xml.vip</vipAddress><dataCenterInfo class="com.netflix.appinfo.InstanceInfo$MyDataCenterInfo"><name>MyOwn</name></dataCenterInfo>'
    + '<leaseInfo><durationInSecs>600</durationInSecs></leaseInfo><metadata><zone>z1</zone></metadata></instance>';
  t.is((await raw(a, 'POST', '/eureka/v2/apps/XMLAPP', xml, { 'Content-Type': 'application/xml' })).status, 204);
  const x = await raw(a, 'GET', '/eureka/apps/XMLAPP/x-1');
  t.is(x.status, 200);
  t.regex(String(x.headers['content-type']), /xml/);
  t.regex(x.body.toString(), /<instance><instanceId>x-1<\/instanceId>.*<port enabled="true">7001<\/port>.*<metadata><zone>z1<\/zone><\/metadata>/s);
  const j = await getJson(a, '/eureka/v2/apps/xmlapp');
  t.is(j.application.name, 'XMLAPP');
  t.like(j.application.instance[0], { instanceId: 'x-1', ipAddr: '127.0.0.81', status: 'UP', port: { $: 7001, '@enabled': 'true' }, metadata: { zone: 'z1' } });
  for (const p of ['/eureka/v2/apps', '/eureka/v2/apps/', '/eureka/apps', '/eureka/apps/']) {
    const g = await raw(a, 'GET', p, undefined, { Accept: 'application/json', 'Accept-Encoding': 'gzip' });
    t.is(g.status, 200, p);
    t.is(g.headers['content-encoding'], 'gzip', p);
    const apps = JSON.parse(gunzipSync(g.body).toString()).applications;
    t.true(Array.isArray(apps.application));
    t.regex(apps.apps__hashcode, /^(?:[A-Z_]+_\d+_)+$/);
  }
  t.is((await getJson(a, '/eureka/v2/instances/x-1')).instance.app, 'XMLAPP');
  t.is((await getJson(a, '/eureka/v2/vips/xml.vip')).applications.application[0].instance[0].instanceId, 'x-1');
  t.deepEqual((await getJson(a, '/eureka/v2/svips/none')).applications.application, []);
  t.deepEqual((await dig(a.dnsPort, 'xmlapp.service.consul', 'A')).answer.map(r => r.data), ['127.0.0.81']);
  t.is((await raw(a, 'DELETE', '/eureka/v2/apps/XMLAPP/x-1')).status, 200);
});

test.serial('eureka api: bad input gets Eureka\'s 400/404 and changes nothing', async t => {
  const before = (await a.req('GET', '/v1/catalog/services')).text;
  const cases: [unknown, RegExp][] = [
    [inst('BAD', '', '127.0.0.1', { instanceId: undefined, hostName: undefined }), /Missing instanceId/],
    [inst('BAD', 'b1', '127.0.0.1', { hostName: undefined }), /Missing hostname/],
    [inst('BAD', 'b1', '127.0.0.1', { ipAddr: undefined }), /Missing ip address/],
    [inst('BAD', 'b1', '127.0.0.1', { app: undefined }), /Missing appName/],
    [inst('OTHER', 'b1', '127.0.0.1'), /Mismatched appName/],
    [inst('BAD', 'b1', '127.0.0.1', { dataCenterInfo: undefined }), /Missing dataCenterInfo/],
    [inst('BAD', 'b1', '127.0.0.1', { dataCenterInfo: { '@class': 'x' } }), /Missing dataCenterInfo Name/],
  ];
  for (const [b, msg] of cases) {
    const r = await post(a, '/eureka/v2', 'BAD', b);
    t.is(r.status, 400, String(msg));
    t.regex(r.body.toString(), msg);
  }
  t.is((await raw(a, 'POST', '/eureka/v2/apps/BAD', '{"instance":', JSONH)).status, 400);
  t.is((await raw(a, 'POST', '/eureka/v2/apps/BAD', '<instance><app>', { 'Content-Type': 'application/xml' })).status, 400);
  t.is((await raw(a, 'POST', '/eureka/v2/apps/BAD', '', JSONH)).status, 400);
  t.is((await raw(a, 'GET', '/eureka/v2/apps/NOPE')).status, 404);
  t.is((await raw(a, 'GET', '/eureka/v2/apps/NOPE/n1')).status, 404);
  t.is((await raw(a, 'GET', '/eureka/v2/instances/n1')).status, 404);
  t.is((await raw(a, 'PUT', '/eureka/v2/apps/NOPE/n1')).status, 404);
  t.is((await raw(a, 'DELETE', '/eureka/v2/apps/NOPE/n1')).status, 404);
  t.is((await raw(a, 'PUT', '/eureka/v2/apps/NOPE/n1/status?value=DOWN')).status, 404);
  t.is((await a.req('GET', '/v1/catalog/services')).text, before, 'nothing changed');
  t.is((await a.req('GET', '/v1/status/leader')).status, 200, 'still serving');
});

test.serial('eureka api: status override OUT_OF_SERVICE leaves DNS and survives renewals; DELETE restores UP; metadata merges into Meta', async t => {
  t.is((await post(a, '/eureka', 'STAT', inst('STAT', 's-1', '127.0.0.91', { leaseInfo: { durationInSecs: 600 } }))).status, 204);
  t.deepEqual((await dig(a.dnsPort, 'stat.service.consul', 'A')).answer.map(r => r.data), ['127.0.0.91']);
  t.is((await raw(a, 'PUT', '/eureka/apps/STAT/s-1/status?value=OUT_OF_SERVICE')).status, 200);
  t.is((await raw(a, 'PUT', '/eureka/apps/STAT/s-1')).status, 200, 'renew');
  const i = (await getJson(a, '/eureka/apps/STAT/s-1')).instance;
  t.like(i, { status: 'OUT_OF_SERVICE', overriddenStatus: 'OUT_OF_SERVICE' });
  t.is((await dig(a.dnsPort, 'stat.service.consul', 'A')).answer.length, 0);
  const checks = (await a.req('GET', '/v1/health/checks/stat')).json as { CheckID: string; Status: string }[];
  t.true(checks.some(c => c.CheckID === '_service_maintenance:s-1' && c.Status === 'critical'));
  // A re-registration keeps the override (Eureka keeps overrides across re-registration).
  t.is((await post(a, '/eureka', 'STAT', inst('STAT', 's-1', '127.0.0.91', { leaseInfo: { durationInSecs: 600 } }))).status, 204);
  t.is((await getJson(a, '/eureka/apps/STAT/s-1')).instance.status, 'OUT_OF_SERVICE');
  t.is((await raw(a, 'PUT', '/eureka/apps/STAT/s-1/status?value=SIDEWAYS')).status, 400);
  t.is((await raw(a, 'DELETE', '/eureka/apps/STAT/s-1/status')).status, 200);
  t.like((await getJson(a, '/eureka/apps/STAT/s-1')).instance, { status: 'UP', overriddenStatus: 'UNKNOWN' });
  t.deepEqual((await dig(a.dnsPort, 'stat.service.consul', 'A')).answer.map(r => r.data), ['127.0.0.91']);
  t.is((await raw(a, 'PUT', '/eureka/apps/STAT/s-1/metadata?foo=bar&management.port=9')).status, 200);
  const cat = (await a.req('GET', '/v1/catalog/service/stat')).json as { ServiceMeta: Record<string, string> }[];
  t.like(cat[0]!.ServiceMeta, { foo: 'bar', 'management.port': '9' });
  t.like((await getJson(a, '/eureka/apps/STAT/s-1')).instance.metadata, { foo: 'bar', 'management.port': '9' });
  // An instance reporting DOWN is critical in Consul and out of DNS.
  t.is((await post(a, '/eureka', 'STAT', inst('STAT', 's-1', '127.0.0.91', { status: 'DOWN' }))).status, 204);
  t.is((await dig(a.dnsPort, 'stat.service.consul', 'A')).answer.length, 0);
  t.is((await raw(a, 'DELETE', '/eureka/apps/STAT/s-1')).status, 200);
});

test.serial('eureka api: self-preservation — of 20 leases 1 lapses and is evicted; 15 of 19 stop and none is evicted while the mode is reported; TTL checks and DeregisterCriticalServiceAfter reaping held (scope "all")', async t => {
  const ids = Array.from({ length: 20 }, (_, i) => `sp-${i}`);
  for (const [k, id] of ids.entries()) {
    t.is((await post(a, '/eureka/v2', 'SP', inst('SP', id, `127.0.1.${k + 1}`, { leaseInfo: { renewalIntervalInSecs: 1, durationInSecs: 6 } }))).status, 204);
  }
  const alive = new Set(ids.slice(1)); // sp-0 never renews
  let running = true;
  const renewer = (async () => {
    while (running) {
      const t0 = Date.now();
      await Promise.all([...alive].map(id => raw(a, 'PUT', `/eureka/v2/apps/SP/${id}`)));
      // Twice a second: 19 clients give 2,280 renewals/min against a threshold of 1,020, a margin a busy machine cannot eat.
      await sleep(Math.max(0, 500 - (Date.now() - t0)));
    }
  })();
  const self = async () => ((await a.req('GET', '/v1/agent/self')).json as { Stats: { eureka: Record<string, string> } }).Stats.eureka;
  const count = async () => ((await a.req('GET', '/v1/catalog/service/sp')).json as unknown[]).length;
  try {
    await until('sp-0 evicted', async () => (await count()) === 19, 30_000);
    t.is((await raw(a, 'PUT', '/eureka/v2/apps/SP/sp-0')).status, 404, 'an evicted instance\'s renew is 404 (the client re-registers)');
    t.is((await self()).self_preservation, 'false');
    // 15 of 19 stop at once.
    for (const id of ids.slice(1, 16)) alive.delete(id);
    await until('self-preservation reported', async () => (await self()).self_preservation === 'true', 15_000);
    // A Consul TTL check, to see that scope "all" holds its expiry too.
    await a.req('PUT', '/v1/agent/service/register', { Name: 'ttlsvc', ID: 'ttl-1', Check: { TTL: '2s', Status: 'passing' } });
    // ... and its DeregisterCriticalServiceAfter reaping: a critical service due for removal after 1 s stays.
    t.is((await a.req('PUT', '/v1/agent/service/register', { Name: 'reapsvc', ID: 'reap-1', Check: { CheckID: 'reap-ttl', TTL: '60s', Status: 'critical', DeregisterCriticalServiceAfter: '1s' } })).status, 200);
    const s = await self();
    t.is(s.renews_threshold, String(Math.floor(19 * 60 * 0.85)));
    t.true(Number(s.renews_last_min) < Number(s.renews_threshold));
    const metrics = (await a.req('GET', '/v1/agent/metrics')).json as { Gauges: { Name: string; Value: number }[] };
    t.is(metrics.Gauges.find(g => g.Name === 'roster.self_preservation')?.Value, 1);
    t.regex(a.log(), /self-preservation mode ON/);
    await sleep(9000); // past the 6 s leases, several 1 s eviction rounds, and the 2 s TTL
    t.is(await count(), 19, 'none evicted while self-preservation holds');
    const ttl = (await a.req('GET', '/v1/health/checks/ttlsvc')).json as { Status: string }[];
    t.is(ttl[0]!.Status, 'passing', 'the TTL check did not expire (scope "all")');
    t.is(((await a.req('GET', '/v1/catalog/service/reapsvc')).json as unknown[]).length, 1, 'the critical service was not reaped (scope "all")');
    // They come back: the mode turns off; the TTL check (never renewed) expires.
    for (const id of ids.slice(1)) alive.add(id);
    await until('self-preservation off', async () => (await self()).self_preservation === 'false', 20_000);
    t.regex(a.log(), /self-preservation mode OFF/);
    await until('TTL expired', async () => ((await a.req('GET', '/v1/health/checks/ttlsvc')).json as { Status: string }[])[0]?.Status === 'critical', 10_000);
    await until('the critical service reaped', async () => ((await a.req('GET', '/v1/catalog/service/reapsvc')).json as unknown[]).length === 0, 10_000);
  } finally {
    running = false;
    await renewer;
  }
  for (const id of ids.slice(1)) await raw(a, 'DELETE', `/eureka/v2/apps/SP/${id}`);
  await a.req('PUT', '/v1/agent/service/deregister/ttl-1');
  t.is(await count(), 0);
});

test.serial('eureka api: a lapsed lease is evicted (self-preservation off) and its renew 404s, then the client registers again', async t => {
  const r = await testRedis();
  t.teardown(() => r.stop());
  const b = await startAgent(t, { redis: r.url, args: ['-config-file', configFile({ eureka: { eviction_interval: '1s', enable_self_preservation: false } })] });
  t.is((await post(b, '/eureka/v2', 'LAPSE', inst('LAPSE', 'l-1', '127.0.0.95', { leaseInfo: { durationInSecs: 2 } }))).status, 204);
  t.deepEqual((await dig(b.dnsPort, 'lapse.service.consul', 'A')).answer.map(r => r.data), ['127.0.0.95']);
  await until('evicted', async () => ((await b.req('GET', '/v1/catalog/service/lapse')).json as unknown[]).length === 0, 15_000);
  t.is((await dig(b.dnsPort, 'lapse.service.consul', 'A')).status, 'NXDOMAIN');
  t.is((await raw(b, 'GET', '/eureka/v2/apps/LAPSE')).status, 404);
  t.is((await raw(b, 'PUT', '/eureka/v2/apps/LAPSE/l-1')).status, 404);
  t.is((await post(b, '/eureka/v2', 'LAPSE', inst('LAPSE', 'l-1', '127.0.0.95', { leaseInfo: { durationInSecs: 60 } }))).status, 204);
  t.is((await raw(b, 'PUT', '/eureka/v2/apps/LAPSE/l-1')).status, 200);
  const delta = await getJson(b, '/eureka/v2/apps/delta');
  t.deepEqual(delta.applications.application[0].instance.map((i: { actionType: string }) => i.actionType), ['ADDED', 'DELETED', 'ADDED']);
  // An instance whose lease is lost (a restore, a crash between the two writes) gets a lease again and lapses.
  t.is((await post(b, '/eureka/v2', 'LAPSE', inst('LAPSE', 'l-2', '127.0.0.96', { leaseInfo: { durationInSecs: 2 } }))).status, 204);
  const redis = new Redis(r.url);
  t.teardown(() => redis.disconnect());
  t.is(await redis.zrem('roster:{dc1}:eureka:leases', 'l-2'), 1);
  t.is((await raw(b, 'PUT', '/eureka/v2/apps/LAPSE/l-2')).status, 404, 'no lease: renew answers 404');
  await until('l-2 adopted and evicted', async () => ((await b.req('GET', '/v1/catalog/service/lapse')).json as { ServiceID: string }[]).map(x => x.ServiceID).join() === 'l-1', 20_000);
  t.regex(b.log(), /Eureka instance without a lease: lease granted.*l-2/);
});

test.serial('protection threshold: below it DNS and ?passing answer with all instances; at it only the passing; counted', async t => {
  const reg = (n: number, status: string) => a.req('PUT', '/v1/catalog/register', {
    Node: `prot-n${n}`, Address: `127.0.2.${n}`, Service: { Service: 'prot', ID: `prot-${n}`, Port: 80 },
    Check: { CheckID: `c${n}`, Name: 'c', ServiceID: `prot-${n}`, Status: status },
  });
  await reg(1, 'passing');
  for (const n of [2, 3, 4]) await reg(n, 'critical');
  const a4 = (await dig(a.dnsPort, 'prot.service.consul', 'A')).answer.map(r => r.data).sort();
  t.deepEqual(a4, ['127.0.2.1', '127.0.2.2', '127.0.2.3', '127.0.2.4'], '1/4 passing < 0.5: all four');
  t.is(((await a.req('GET', '/v1/health/service/prot?passing')).json as unknown[]).length, 4);
  await reg(2, 'passing');
  t.deepEqual((await dig(a.dnsPort, 'prot.service.consul', 'A')).answer.map(r => r.data).sort(), ['127.0.2.1', '127.0.2.2'], '2/4 is not below 0.5');
  t.is(((await a.req('GET', '/v1/health/service/prot?passing')).json as unknown[]).length, 2);
  const m = (await a.req('GET', '/v1/agent/metrics')).json as { Gauges: { Name: string; Value: number; Labels: Record<string, string> }[] };
  t.true((m.Gauges.find(g => g.Name === 'roster.dns.service_protection_applied' && g.Labels.service === 'prot')?.Value ?? 0) >= 2);
  // A service without a threshold is unaffected.
  await a.req('PUT', '/v1/catalog/register', { Node: 'other-n', Address: '127.0.2.9', Service: { Service: 'other', ID: 'o', Port: 80 }, Check: { CheckID: 'co', Name: 'c', ServiceID: 'o', Status: 'critical' } });
  t.is((await dig(a.dnsPort, 'other.service.consul', 'A')).status, 'NXDOMAIN');
});
