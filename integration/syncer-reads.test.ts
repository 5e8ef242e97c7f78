/**
 * The syncer re-reads the nodes a write storm names with at most NODE_READS_IN_FLIGHT (8) reads in flight
 * (src/catalog/syncer.ts): their replies, arriving together, are applied in one event-loop turn, so an
 * unbounded number in flight was a stall as long as the storm was wide. Real redis-server, real syncer;
 * every write is still applied, in index order of the watermark.
 */
import test from 'ava';
import { Redis } from 'ioredis';
import { testRedis } from './helpers/redis.ts';
import { CatalogStore } from '../src/store/catalog-store.ts';
import { keysFor } from '../src/store/keys.ts';
import { CatalogView } from '../src/catalog/view.ts';
import { CatalogSyncer } from '../src/catalog/syncer.ts';

/** Counts node reads in flight at once. */
class CountingStore extends CatalogStore {
  inFlight = 0;
  most = 0;
  reads = 0;
  async #count<T>(p: () => Promise<T>): Promise<T> {
    this.inFlight++; this.reads++;
    if (this.inFlight > this.most) this.most = this.inFlight;
    try { return await p(); } finally { this.inFlight--; }
  }
  override readNode(n: string): ReturnType<CatalogStore['readNode']> { return this.#count(() => super.readNode(n)); }
  override loadPartial(n: string, s: string[], c: string[]): ReturnType<CatalogStore['loadPartial']> { return this.#count(() => super.loadPartial(n, s, c)); }
}

const svc = (id: string) => ({ ID: id, Service: 'web', Tags: [], Address: '', Meta: {}, Port: 80, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false });
const node = (name: string) => ({ ID: '', Node: name, Address: '10.0.0.1', Datacenter: 'dc1', TaggedAddresses: {}, Meta: {} });

test('syncer: a write storm over 300 nodes is re-read with at most 8 node reads in flight, and every write is applied', async t => {
  const r = await testRedis();
  const writer = new Redis(r.url);
  const reader = new Redis(r.url);
  const wstore = new CatalogStore(writer, keysFor('dc1'));
  const store = new CountingStore(reader, keysFor('dc1'));
  const view = new CatalogView();
  const syncer = new CatalogSyncer(store, view, { resyncIntervalMs: 3_600_000 });
  t.teardown(async () => { await syncer.stop(); writer.disconnect(); reader.disconnect(); await r.stop(); });
  await syncer.start();
  // 300 registrations on 300 nodes, all sent at once: their change events reach the reader in a few XREAD replies.
  const res = await Promise.all(Array.from({ length: 300 }, (_, i) => wstore.register({ nodeName: `n${i}`, node: node(`n${i}`), services: [svc(`w${i}`)], checks: [] })));
  const last = Math.max(...res.map(x => x.index));
  t.true(await syncer.waitFor(last, 15_000), 'every write applied');
  t.is(view.instances('web').length, 300);
  t.true(store.reads >= 300, `each node re-read (${store.reads} reads)`);
  t.true(store.most <= 8, `at most 8 node reads in flight (saw ${store.most})`);
  t.true(store.most >= 2, `reads do overlap (saw ${store.most})`);
});

test('syncer: a full load of 2,500 nodes and 2,500 services (head read in several parts) and a reload merged as it reads agree with Redis', async t => {
  const r = await testRedis();
  const writer = new Redis(r.url);
  const reader = new Redis(r.url);
  const wstore = new CatalogStore(writer, keysFor('dc1'));
  const store = new CatalogStore(reader, keysFor('dc1'));
  let syncer: CatalogSyncer | null = null;
  t.teardown(async () => { await syncer?.stop(); writer.disconnect(); reader.disconnect(); await r.stop(); });
  const one = (i: number) => ({ ...svc(`s${i}`), Service: `svc-${i}` });
  for (let i = 0; i < 2500; i += 250) await Promise.all(Array.from({ length: 250 }, (_, k) => wstore.register({ nodeName: `n${i + k}`, node: node(`n${i + k}`), services: [one(i + k)], checks: [] })));
  const view = new CatalogView();
  syncer = new CatalogSyncer(store, view, { resyncIntervalMs: 3_600_000 });
  await syncer.start();
  t.is(view.nodeCount, 2500, 'initial load: every node');
  t.is(view.instances('svc-2499').length, 1);
  const head = await store.loadAll();
  t.is(Object.keys(head.serviceIndex).length, 2500, 'the service indexes come whole out of several parts');
  t.is(head.states.length, 2500);
  // Changes the view does not hear of (the syncer's reader is stopped), then a reload merged batch by batch.
  await syncer.stop();
  const gone = await wstore.deregister('n7', 'node');
  t.true(gone.found);
  const added = await wstore.register({ nodeName: 'late', node: node('late'), services: [one(9999)], checks: [] });
  const fresh = new CatalogSyncer(store, view, { resyncIntervalMs: 3_600_000 });
  t.teardown(() => fresh.stop());
  await fresh.resync('test');
  t.is(view.instances('svc-9999').length, 1, 'a node added meanwhile is merged in');
  t.is(view.node('n7'), undefined, 'a node removed meanwhile is dropped');
  t.is(view.nodeCount, 2500);
  t.true(added.index > 0);
});

test('syncer: stopped with 20,000 node re-reads waiting behind held reads, it ends them without recursing once per node', async t => {
  // In a process of its own: the stack overflow this guards against is printed by V8 ("Exception in PromiseRejectCallback",
  // RangeError) rather than thrown to a handler.
  const r = await testRedis();
  t.teardown(() => r.stop());
  const { spawn } = await import('node:child_process');
  const p = spawn(process.execPath, [new URL('./helpers/syncer-stop.ts', import.meta.url).pathname, r.url], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', err = '';
  p.stdout.on('data', d => { out += String(d); });
  p.stderr.on('data', d => { err += String(d); });
  const code = await new Promise(res => p.once('exit', res));
  t.is(code, 0, err);
  const m = /waiting (\d+) started (\d+) after-stop-waiting (\d+) started (\d+)/.exec(out);
  t.truthy(m, out);
  t.true(Number(m![1]) > 15_000, out);
  t.is(Number(m![2]), 8, 'eight reads held');
  t.is(Number(m![3]), 0, 'every waiting read ended');
  t.is(Number(m![4]), 8, 'nothing more is read once stopped');
  t.notRegex(err, /RangeError|Maximum call stack|PromiseRejectCallback/);
});
