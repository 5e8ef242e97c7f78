import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cluster } from 'ioredis';
import { parseRedisUrl, redactRedisUrl, RedisConnector } from '../../src/store/connect.ts';
import { applyFile, redisUrlWithSecret } from '../../src/config/load.ts';
import { defaultConfig } from '../../src/config/schema.ts';

test('connect: redis:// and rediss:// URLs', t => {
  t.deepEqual(parseRedisUrl('redis://10.0.0.5:6380/2'), { kind: 'redis', tls: false, hosts: [{ host: '10.0.0.5', port: 6380 }], db: 2 });
  t.deepEqual(parseRedisUrl('redis://h'), { kind: 'redis', tls: false, hosts: [{ host: 'h', port: 6379 }], db: 0 });
  t.deepEqual(parseRedisUrl('rediss://app:s%40cret@[::1]:6390'), { kind: 'redis', tls: true, hosts: [{ host: '::1', port: 6390 }], db: 0, username: 'app', password: 's@cret' });
  t.deepEqual(parseRedisUrl('redis://:pw@h:1'), { kind: 'redis', tls: false, hosts: [{ host: 'h', port: 1 }], db: 0, password: 'pw' });
});

test('connect: redis-sentinel:// lists sentinels, the master name and the db', t => {
  t.deepEqual(parseRedisUrl('redis-sentinel://u:p@10.0.0.1:26379,10.0.0.2:26380,s3/mymaster?db=3'), {
    kind: 'sentinel', tls: false, db: 3, username: 'u', password: 'p', masterName: 'mymaster',
    hosts: [{ host: '10.0.0.1', port: 26379 }, { host: '10.0.0.2', port: 26380 }, { host: 's3', port: 26379 }],
  });
});

test('connect: redis-cluster:// lists seed nodes', t => {
  t.deepEqual(parseRedisUrl('redis-cluster://127.0.0.1:7000,127.0.0.1:7001'), {
    kind: 'cluster', tls: false, db: 0, hosts: [{ host: '127.0.0.1', port: 7000 }, { host: '127.0.0.1', port: 7001 }],
  });
});

test('connect: bad URLs are refused with the password redacted', t => {
  const cases: [string, RegExp][] = [
    ['http://h:1', /^invalid Redis URL http:\/\/h:1: unknown scheme http:/],
    ['redis://:hunter2@h:99999', /^invalid Redis URL redis:\/\/:\[redacted\]@h:99999: bad port/],
    ['redis-sentinel://:hunter2@h1:1,h2:2', /no master name/],
    ['redis://h1:1,h2:2', /one host only/],
    ['redis-cluster://h:1/3', /database 0 only/],
    ['redis://h:1/x', /bad database number/],
    ['localhost:6379', /expected scheme/],
  ];
  for (const [url, re] of cases) {
    const err = t.throws(() => parseRedisUrl(url));
    t.regex(err!.message, re, url);
    t.false(err!.message.includes('hunter2'), url);
  }
});

test('connect: redactRedisUrl hides passwords of every scheme', t => {
  t.is(redactRedisUrl('redis-sentinel://u:pw@h1:1,h2:2/m'), 'redis-sentinel://u:[redacted]@h1:1,h2:2/m');
  t.is(redactRedisUrl('redis://h:1'), 'redis://h:1');
  t.is(redactRedisUrl('rediss://:a@b@h:1?password=x'), 'rediss://:[redacted]@h:1?password=[redacted]');
});

test('connect: every role of one connector shares the URL, credentials and deadline rules', t => {
  const c = new RedisConnector('redis-sentinel://:pw@127.0.0.1:26379/mymaster?db=1', { timeoutMs: 1234 });
  const cmd = c.roleOptions('command');
  t.is(cmd.commandTimeout, 1234);
  t.is(cmd.enableOfflineQueue, false);
  t.is(cmd.maxRetriesPerRequest, 1);
  t.is(cmd.autoResendUnfulfilledCommands, false, 'a request-path command is never run twice after a reconnect');
  t.is(c.roleOptions('queue').maxRetriesPerRequest, null);
  t.is(c.roleOptions('subscriber').maxRetriesPerRequest, null);
  for (const role of ['command', 'subscriber', 'queue'] as const) {
    t.is(c.roleOptions(role).password, 'pw');
    t.is(c.roleOptions(role).db, 1);
  }
  const conn = c.create('command');
  t.is(conn.options.name, 'mymaster');
  t.deepEqual(conn.options.sentinels, [{ host: '127.0.0.1', port: 26379 }]);
  conn.disconnect();
  t.is(c.display, 'redis-sentinel://:[redacted]@127.0.0.1:26379/mymaster?db=1');
});

test('connect: the password file applies to Sentinel and Cluster URLs too', t => {
  t.is(redisUrlWithSecret('redis-sentinel://h1:1,h2:2/m', undefined, { ROSTER_REDIS_PASSWORD: 'p w' }), 'redis-sentinel://:p%20w@h1:1,h2:2/m');
  t.is(redisUrlWithSecret('redis-cluster://app@h1:1,h2:2', undefined, { REDISCLI_AUTH: 'x' }), 'redis-cluster://app:x@h1:1,h2:2');
  t.is(redisUrlWithSecret('redis-cluster://h1:1', undefined, {}), 'redis-cluster://h1:1');
});

test('connect: redis_min_replicas_acked and the TLS files are config keys; a bad count is refused', t => {
  const cfg = defaultConfig();
  t.is(cfg.redisMinReplicasAcked, undefined, 'auto by default');
  applyFile(cfg, { redis_min_replicas_acked: 2, redis_tls_ca_file: '/ca.pem', redis_tls_cert_file: '/c.pem', redis_tls_key_file: '/k.pem', redis_tls_server_name: 'redis.internal' }, 'f.json');
  t.is(cfg.redisMinReplicasAcked, 2);
  t.deepEqual(cfg.redisTls, { caFile: '/ca.pem', certFile: '/c.pem', keyFile: '/k.pem', serverName: 'redis.internal' });
  for (const bad of [-1, 1.5, '1']) {
    t.throws(() => applyFile(defaultConfig(), { redis_min_replicas_acked: bad }, 'f.json'), { message: 'f.json: redis_min_replicas_acked must be a whole number >= 0' });
  }
  t.throws(() => new RedisConnector('rediss://h:1', { timeoutMs: 1, tls: { caFile: '/nonexistent/ca.pem' } }), { message: 'cannot read Redis TLS CA file /nonexistent/ca.pem: ENOENT' });
});

test('connect: rediss-sentinel:// and rediss-cluster:// are the TLS forms of Sentinel and Cluster URLs', t => {
  t.deepEqual(parseRedisUrl('rediss-sentinel://10.0.0.1,10.0.0.2:26380/roster?db=2'), {
    kind: 'sentinel', tls: true, db: 2, masterName: 'roster', hosts: [{ host: '10.0.0.1', port: 26379 }, { host: '10.0.0.2', port: 26380 }],
  });
  t.deepEqual(parseRedisUrl('REDISS-CLUSTER://:pw@h1:7000,h2'), {
    kind: 'cluster', tls: true, db: 0, password: 'pw', hosts: [{ host: 'h1', port: 7000 }, { host: 'h2', port: 6379 }],
  });
  t.regex(t.throws(() => parseRedisUrl('rediss-sentinel://h1:1'))!.message, /no master name/);
  t.is(redactRedisUrl('rediss-sentinel://u:pw@h1:1,h2:2/m'), 'rediss-sentinel://u:[redacted]@h1:1,h2:2/m');
});

test('connect: a rediss-sentinel:// connection speaks TLS to the sentinels and to the primary, with the configured files', t => {
  const dir = mkdtempSync(join(tmpdir(), 'roster-connect-'));
  writeFileSync(join(dir, 'ca.pem'), 'CA');
  writeFileSync(join(dir, 'c.pem'), 'CERT');
  writeFileSync(join(dir, 'k.pem'), 'KEY');
  const tls = { caFile: join(dir, 'ca.pem'), certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem'), serverName: 'redis.internal' };
  const s = new RedisConnector('rediss-sentinel://127.0.0.1:26379/roster', { timeoutMs: 1, tls });
  for (const role of ['command', 'subscriber', 'queue', 'blocking'] as const) {
    const conn = s.create(role);
    const o = conn.options as typeof conn.options & { enableTLSForSentinelMode?: boolean; sentinelTLS?: { ca: Buffer; servername?: string } };
    t.true(o.enableTLSForSentinelMode, role);
    t.is(String(o.sentinelTLS!.ca), 'CA', role);
    t.is(String((o.tls as { cert: Buffer }).cert), 'CERT', role);
    t.is((o.tls as { servername: string }).servername, 'redis.internal', role);
    conn.disconnect();
  }
  const plain = new RedisConnector('redis-sentinel://127.0.0.1:26379/roster', { timeoutMs: 1, tls });
  const p = plain.create('command');
  t.falsy((p.options as { enableTLSForSentinelMode?: boolean }).enableTLSForSentinelMode);
  t.falsy(p.options.tls, 'redis-sentinel:// stays plaintext even with TLS files configured');
  p.disconnect();
  const c = new RedisConnector('rediss-cluster://127.0.0.1:7000', { timeoutMs: 1, tls });
  for (const role of ['command', 'subscriber', 'queue', 'blocking'] as const) {
    const conn = c.create(role) as unknown as Cluster;
    t.is(String((conn.options.redisOptions!.tls as { key: Buffer }).key), 'KEY', role);
    conn.disconnect();
  }
});
