import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAgentConfig, redisUrlWithSecret } from '../../src/config/load.ts';
import { redact } from '../../src/log.ts';

const dir = mkdtempSync(join(tmpdir(), 'roster-secret-'));
const file = (name: string, v: string) => { const p = join(dir, name); writeFileSync(p, v, { mode: 0o600 }); return p; };

test('config secrets: the Redis password comes from the file, then $ROSTER_REDIS_PASSWORD, then $REDISCLI_AUTH, then the URL', t => {
  const f = file('pw', 'from file\n');
  t.is(redisUrlWithSecret('redis://10.0.0.5:6379/2', f, { ROSTER_REDIS_PASSWORD: 'env' }), 'redis://:from%20file@10.0.0.5:6379/2');
  t.is(redisUrlWithSecret('redis://10.0.0.5:6379', undefined, { ROSTER_REDIS_PASSWORD: 'e@v1', REDISCLI_AUTH: 'cli' }), 'redis://:e%40v1@10.0.0.5:6379');
  t.is(redisUrlWithSecret('redis://10.0.0.5:6379', undefined, { REDISCLI_AUTH: 'cli-pw' }), 'redis://:cli-pw@10.0.0.5:6379');
  t.is(redisUrlWithSecret('redis://:inurl@10.0.0.5:6379', undefined, {}), 'redis://:inurl@10.0.0.5:6379');
  // Each of them is now redacted from log text, even outside a URL.
  t.is(redact('auth failed for from file / e@v1 / cli-pw / inurl'), 'auth failed for [redacted] / [redacted] / [redacted] / [redacted]');
});

test('config secrets: a missing or empty secret file is an error naming the file, never a content', t => {
  t.throws(() => redisUrlWithSecret('redis://h:1', join(dir, 'nope'), {}), { message: `cannot read Redis password file ${join(dir, 'nope')}: ENOENT` });
  t.throws(() => redisUrlWithSecret('redis://h:1', file('empty', '\n'), {}), { message: /Redis password file .* is empty/ });
});

test('config secrets: the gossip key from -encrypt-file, else -encrypt, else $CONSUL_ENCRYPT', t => {
  const key = 'pGEUoc8YKFOaHjxX6fDmDg==';
  t.is(loadAgentConfig({ dev: true, 'encrypt-file': file('key', key + '\n') }, {}).encrypt, key);
  t.is(loadAgentConfig({ dev: true, encrypt: 'flagkey' }, { CONSUL_ENCRYPT: key }).encrypt, 'flagkey');
  t.is(loadAgentConfig({ dev: true }, { CONSUL_ENCRYPT: key }).encrypt, key);
  t.is(loadAgentConfig({ dev: true }, {}).encrypt, '');
  t.is(redact(`key ${key}`), 'key [redacted]');
});
