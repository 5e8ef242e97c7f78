import test from 'ava';
import { redact, registerSecret } from '../../src/log.ts';

test('log: URL passwords are redacted whatever the scheme', t => {
  t.is(redact('redis=redis://:s3cret@127.0.0.1:6379 up'), 'redis=redis://:[redacted]@127.0.0.1:6379 up');
  t.is(redact('url="rediss://user:p%40ss@h:1/0"'), 'url="rediss://user:[redacted]@h:1/0"');
  t.is(redact('redis://127.0.0.1:6379'), 'redis://127.0.0.1:6379');
});

test('log: token and password query parameters are redacted', t => {
  t.is(redact('path=/v1/kv/a?token=abc-123&recurse'), 'path=/v1/kv/a?token=[redacted]&recurse');
  t.is(redact('GET /x?dc=dc1&password=hunter2'), 'GET /x?dc=dc1&password=[redacted]');
});

test('log: registered secrets are redacted wherever they appear', t => {
  registerSecret('pGEUoc8YKFOaHjxX6fDmDg==');
  t.is(redact('gossip key pGEUoc8YKFOaHjxX6fDmDg== is invalid'), 'gossip key [redacted] is invalid');
  registerSecret('');
  t.is(redact('nothing here'), 'nothing here');
});
