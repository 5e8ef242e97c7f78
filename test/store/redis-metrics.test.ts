import test from 'ava';
import { RedisConnector } from '../../src/store/connect.ts';
import { metrics, M } from '../../src/util/metrics/index.ts';
import type { Cluster } from 'ioredis';

test('redis metrics: a Cluster command connection counts its commands, errors and reconnects under role=command', async t => {
  metrics.settings.enabled = true;
  const lat = M.redisCommand.series('command');
  const errs = M.redisErrors.series('command');
  const rec = M.redisReconnects.series('command');
  const [l0, e0, r0] = [lat.count, errs.count, rec.count];
  // Nothing listens on port 1: the cluster is not ready and its command connection has no offline queue, so a
  // command fails at once (no network wait).
  const c = new RedisConnector('redis-cluster://127.0.0.1:1', { timeoutMs: 100 });
  const cl = c.create('command') as unknown as Cluster;
  cl.on('error', () => {});
  await t.throwsAsync(cl.get('k'));
  await t.throwsAsync(cl.set('k', 'v'));
  t.is(lat.count - l0, 2, 'each command observed once');
  t.is(errs.count - e0, 2);
  cl.emit('reconnecting', 50);
  t.is(rec.count - r0, 1);
  // Other roles are not instrumented (BullMQ's and the subscribers' blocking reads are not request latency).
  const q = c.create('subscriber') as unknown as Cluster;
  q.on('error', () => {});
  q.emit('reconnecting', 50);
  t.is(rec.count - r0, 1);
  cl.disconnect();
  q.disconnect();
});
