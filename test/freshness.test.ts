import test from 'ava';
import { freshness, REPLY_GRACE_MS } from '../src/catalog/freshness.ts';
import { metaHeaders } from '../src/http/context.ts';

const base = { blockMs: 5000, following: true, timeoutMs: 5000 };

test('freshness: a read parked on Redis within its block time reports 0 (a healthy idle agent)', t => {
  t.deepEqual(freshness({ ...base, now: 1_004_900, lastContact: 1_000_000, readingSince: 1_000_000 }), { lastContactMs: 0, knownLeader: true });
});

test('freshness: a parked read past block time + grace counts from when it was issued', t => {
  const issued = 1_000_000;
  const now = issued + 5000 + REPLY_GRACE_MS + 1;
  t.deepEqual(freshness({ ...base, now, lastContact: issued - 3, readingSince: issued }), { lastContactMs: now - issued, knownLeader: false });
});

test('freshness: no read in flight counts from the last contact; KnownLeader false only past redis_timeout', t => {
  t.deepEqual(freshness({ ...base, now: 1_004_000, lastContact: 1_000_000, readingSince: 0 }), { lastContactMs: 4000, knownLeader: true });
  t.deepEqual(freshness({ ...base, now: 1_005_001, lastContact: 1_000_000, readingSince: 0 }), { lastContactMs: 5001, knownLeader: false });
});

test('freshness: a view not following the log (reload pending) ignores the parked read', t => {
  t.deepEqual(freshness({ ...base, following: false, now: 1_002_000, lastContact: 1_000_000, readingSince: 1_001_900 }), { lastContactMs: 2000, knownLeader: true });
});

test('freshness: a view never synced is not known current', t => {
  t.deepEqual(freshness({ ...base, now: 1_000_000, lastContact: 0, readingSince: 0 }), { lastContactMs: 0, knownLeader: false });
});

test('metaHeaders: default and stale reads report the view age; consistent and direct reads report 0/true', t => {
  const old = { lastContactMs: 7200, knownLeader: false };
  for (const mode of ['leader', 'stale'] as const) {
    const h = metaHeaders(9, mode, old);
    t.is(h['X-Consul-LastContact'], '7200', mode);
    t.is(h['X-Consul-KnownLeader'], 'false', mode);
  }
  const c = metaHeaders(9, 'consistent', old);
  t.is(c['X-Consul-LastContact'], '0');
  t.is(c['X-Consul-KnownLeader'], 'true');
  const d = metaHeaders(9, null);
  t.deepEqual(d, { 'X-Consul-Index': '9', 'X-Consul-KnownLeader': 'true', 'X-Consul-LastContact': '0' });
});
