/**
 * For integration/syncer-reads.test.ts: a syncer stopped while 20,000 node re-reads wait behind 8 held reads.
 *   node integration/helpers/syncer-stop.ts <redis url>
 * Prints `waiting N started N after-stop-waiting N started N`; anything V8 prints (a stack overflow) goes to stderr.
 */
import { Redis } from 'ioredis';
import { CatalogStore } from '../../src/store/catalog-store.ts';
import { keysFor } from '../../src/store/keys.ts';
import { CatalogView } from '../../src/catalog/view.ts';
import { CatalogSyncer } from '../../src/catalog/syncer.ts';

const url = process.argv[2]!;
const writer = new Redis(url);
const reader = new Redis(url);
const wstore = new CatalogStore(writer, keysFor('dc1'));
let release!: () => void;
const gate = new Promise<void>(res => { release = res; });
let started = 0;
class HeldStore extends CatalogStore {
  override async readNode(n: string): ReturnType<CatalogStore['readNode']> { started++; await gate; return super.readNode(n); }
  override async loadPartial(n: string, s: string[], c: string[]): ReturnType<CatalogStore['loadPartial']> { started++; await gate; return super.loadPartial(n, s, c); }
}
const svc = (id: string) => ({ ID: id, Service: 'web', Tags: [], Address: '', Meta: {}, Port: 80, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false });
const node = (name: string) => ({ ID: '', Node: name, Address: '10.0.0.1', Datacenter: 'dc1', TaggedAddresses: {}, Meta: {} });
const syncer = new CatalogSyncer(new HeldStore(reader, keysFor('dc1')), new CatalogView(), { resyncIntervalMs: 3_600_000 });
await syncer.start();
for (let i = 0; i < 20_000; i += 500) {
  await Promise.all(Array.from({ length: 500 }, (_, j) => wstore.register({ nodeName: `n${i + j}`, node: node(`n${i + j}`), services: [svc(`w${i + j}`)], checks: [] })));
}
for (let i = 0; i < 500 && syncer.queuedReads < 19_000; i++) await new Promise(res => setTimeout(res, 10));
const before = `waiting ${syncer.queuedReads} started ${started}`;
await syncer.stop();
release();
await new Promise(res => setTimeout(res, 300));
process.stdout.write(`${before} after-stop-waiting ${syncer.queuedReads} started ${started}\n`);
writer.disconnect(); reader.disconnect();
process.exit(0);
