/**
 * The answer thread (dns_config.answer_thread, src/dns/answer-thread.ts): real sockets, real dig.
 * Proves that a cached answer needs nothing of the main thread (dig is run with execFileSync, which
 * blocks the main thread for the whole exchange: on the main thread's own sockets it times out), that
 * a change applied before a question is never answered around, that its answers are counted, that
 * garbage does not stop it, and that a dead worker is started again on the same port.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import { startDnsFixture } from './helpers/dns-fixture.ts';
import type { NodeState } from '../src/catalog/model.ts';
import { M, metrics } from '../src/util/metrics/index.ts';

const run = promisify(execFile);
const digArgs = (port: number, ...q: string[]) => ['@127.0.0.1', '-p', String(port), '+time=2', '+tries=1', '+short', ...q];
/** dig on a blocked main thread: the answer must come from the worker alone. */
const digBlocking = (port: number, ...q: string[]): string => {
  try { return execFileSync('dig', digArgs(port, ...q), { encoding: 'utf8' }); } catch (e) { return String((e as { stdout?: string }).stdout ?? e); }
};
const dig = async (port: number, ...q: string[]): Promise<string> => (await run('dig', digArgs(port, ...q))).stdout;
const sorted = (s: string) => s.trim().split('\n').filter(Boolean).sort();

// Serial (ava runs serial tests first, alone): it blocks this process's main thread, which answers the other tests' cache misses.
test.serial('dns answer thread: a cached answer is served while the main thread is blocked; without the thread the same query times out', async t => {
  const on = await startDnsFixture({ answerThread: true });
  const off = await startDnsFixture({ answerThread: false });
  t.teardown(() => Promise.all([on.close(), off.close()]));
  t.truthy(on.server.answerThread);
  t.is(off.server.answerThread, null);
  for (const f of [on, off]) t.deepEqual(sorted(await dig(f.port, 'web.service.consul', 'A')), ['127.0.0.10', '127.0.0.11', '127.0.0.12']);
  const hits = on.server.stats().hits;
  t.deepEqual(sorted(digBlocking(on.port, 'web.service.consul', 'A')), ['127.0.0.10', '127.0.0.11', '127.0.0.12']);
  t.is(on.server.stats().hits, hits + 1);
  t.regex(digBlocking(off.port, 'web.service.consul', 'A'), /timed out|no servers could be reached/);
});

test('dns answer thread: a change applied before a question is in its answer, every time (read-your-writes)', async t => {
  const f = await startDnsFixture({ answerThread: true });
  t.teardown(() => f.close());
  const base = f.view.node('web1')!;
  for (let i = 0; i < 40; i++) {
    await dig(f.port, 'web.service.consul', 'A'); // cached in the worker
    const address = `127.0.2.${i + 1}`;
    const next: NodeState = { ...base, node: { ...base.node, Address: address, ModifyIndex: 10 + i } };
    f.view.putNode('web1', next, 10 + i);
    t.deepEqual(sorted(await dig(f.port, 'web.service.consul', 'A')), [address, '127.0.0.11', '127.0.0.12'].sort(), `change ${i}`);
  }
  f.view.putNode('web2', null, 100);
  t.deepEqual(sorted(await dig(f.port, 'web.service.consul', 'A')), ['127.0.0.12', '127.0.2.40']);
});

test('dns answer thread: answers it serves are counted in the metrics; garbage is dropped and it keeps answering', async t => {
  const f = await startDnsFixture({ answerThread: true, nodeName: 'answer-thread-metrics' });
  t.teardown(() => f.close());
  const domain = M.dnsDomainQuery.series('answer-thread-metrics');
  metrics.rotate();
  const d0 = domain.count;
  const hits0 = f.server.stats().hits;
  await dig(f.port, 'db.service.consul', 'A'); // built by the main thread (counted there)
  for (let i = 0; i < 5; i++) await dig(f.port, 'db.service.consul', 'A'); // answered by the worker
  t.is(f.server.stats().hits - hits0, 5);
  metrics.rotate();
  t.is(domain.count - d0, 6);
  const sock = dgram.createSocket('udp4');
  for (const junk of [Buffer.alloc(0), Buffer.from([1, 2, 3]), Buffer.alloc(512, 0xff), Buffer.from('000000010000000000000000ffff', 'hex')]) {
    await new Promise<void>(res => sock.send(junk, f.port, '127.0.0.1', () => res()));
  }
  sock.close();
  t.deepEqual(sorted(await dig(f.port, 'db.service.consul', 'A')), ['127.0.0.12']);
  t.is(f.server.answerThread!.restarts, 0);
});

test('dns answer thread: a worker that dies is started again on the same port', async t => {
  const f = await startDnsFixture({ answerThread: true });
  t.teardown(() => f.close());
  const th = f.server.answerThread!;
  t.deepEqual(sorted(await dig(f.port, 'web.service.consul', 'A')), ['127.0.0.10', '127.0.0.11', '127.0.0.12']);
  await th.crash();
  for (let i = 0; i < 50 && th.restarts === 0; i++) await new Promise(r => setTimeout(r, 20));
  t.is(th.restarts, 1);
  let out = '';
  for (let i = 0; i < 50 && !out.trim(); i++) { out = await dig(f.port, 'web.service.consul', 'A').catch(() => ''); }
  t.deepEqual(sorted(out), ['127.0.0.10', '127.0.0.11', '127.0.0.12']);
  t.is(th.port, f.port);
});

test.serial('dns answer thread: a name in demand that a change drops is built again at once, so its next answer (with the change) needs nothing of the main thread', async t => {
  const f = await startDnsFixture({ answerThread: true });
  t.teardown(() => f.close());
  for (let i = 0; i < 3; i++) await dig(f.port, 'web.service.consul', 'A');
  // The thread reports the names it served every 500 ms.
  for (let i = 0; i < 100 && f.server.answerThread!.hot.size === 0; i++) await new Promise(r => setTimeout(r, 50));
  t.is(f.server.answerThread!.hot.size, 1);
  const base = f.view.node('web2')!;
  f.view.putNode('web2', { ...base, node: { ...base.node, Address: '127.0.3.1', ModifyIndex: 50 } }, 50);
  const misses = f.server.stats().misses;
  // The main thread is blocked for the whole exchange: only an answer built with the invalidation can arrive.
  t.deepEqual(sorted(digBlocking(f.port, 'web.service.consul', 'A')), ['127.0.0.10', '127.0.0.12', '127.0.3.1']);
  t.is(f.server.stats().misses, misses);
});

test('dns answer thread: on by default with two or more CPUs, off on one (a process pinned to one core)', async t => {
  const code = "import { defaultDnsConfig } from './src/config/schema.ts'; import { availableParallelism } from 'node:os'; console.log(availableParallelism(), defaultDnsConfig().answerThread);";
  const root = new URL('..', import.meta.url).pathname;
  const pinned = (await run('taskset', ['-c', '0', process.execPath, '--input-type=module', '-e', code], { cwd: root })).stdout.trim();
  t.is(pinned, '1 false');
  const free = (await run(process.execPath, ['--input-type=module', '-e', code], { cwd: root })).stdout.trim();
  const [cpus, on] = free.split(' ');
  t.is(on, String(Number(cpus) > 1), free);
});
