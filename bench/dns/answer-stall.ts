/**
 * How long DNS answers wait while the catalog behind them reloads or churns (issue 12 §3, "no catalog change,
 * load or reload stalls a DNS answer for more than 5 ms"), with and without the answer thread, in one run:
 *   node --max-old-space-size=1536 --max-semi-space-size=8 --expose-gc bench/dns/answer-stall.ts [instances=100000] [quietSeconds=5]
 * Starts a redis-server and registers `instances` (5 per node, 2,000 service names, one TTL check per node). Then, for
 * each mode (main: DNS on the agent's main thread; thread: dns_config.answer_thread), an agent process runs the real
 * syncer + view + DnsServer (the agent's Node flags, as bin/roster runs it); then, as the floor of this machine, a bare
 * Node dgram server echoing a fixed reply (quiet and writers phases only). A prober process asks one question
 * every millisecond over UDP (A of 50 service names in turn) and times every answer. Phases:
 *  - quiet: nothing changes;
 *  - forced reload: the agent's change-log connection killed and the log trimmed meanwhile (a full reload, merged);
 *  - authoritative reload: the epoch bumped (what a snapshot restore does): the view rebuilt beside the old one and swapped;
 *  - writers: 2 processes flipping checks as fast as Redis takes them, for 10 s.
 * Per phase: answers, p50 / p99 / p99.9 / max latency (ms) and questions not answered within 1 s.
 * Bounded: every phase ends by itself; everything stops at the end.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fork, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { Redis } from 'ioredis';
import { runFlippers } from '../store/check-flipper.ts';
import { fillCatalog } from '../store/fill-catalog.ts';

const SRC = resolve(process.env.ROSTER_SRC ?? join(import.meta.dirname, '../../src'));
const { CatalogStore } = await import(join(SRC, 'store/catalog-store.ts'));
const { keysFor } = await import(join(SRC, 'store/keys.ts'));
const keys = keysFor('dc1');
const NAMES = 50;

function question(id: number, name: string): Buffer {
  const labels = name.split('.').filter(Boolean);
  const q = Buffer.alloc(12 + labels.reduce((n, l) => n + l.length + 1, 1) + 4);
  q.writeUInt16BE(id, 0); q.writeUInt16BE(0x0100, 2); q.writeUInt16BE(1, 4);
  let o = 12;
  for (const l of labels) { q[o++] = l.length; q.write(l, o, 'ascii'); o += l.length; }
  q[o++] = 0; q.writeUInt16BE(1, o); q.writeUInt16BE(1, o + 2);
  return q;
}

if (process.argv[2] === 'bare') {
  // The floor: a bare Node dgram server echoing the question with a fixed header (no catalog), under the same phases' load.
  const sock = dgram.createSocket('udp4');
  sock.on('message', (msg, r) => { const out = Buffer.from(msg); out[2]! |= 0x84; sock.send(out, r.port, r.address); });
  sock.bind(0, '127.0.0.1', () => process.send!({ type: 'ready', port: sock.address().port }));
  process.on('message', (m: { type: string }) => {
    if (m.type === 'reloads') process.send!({ type: 'reloads', n: 0 });
    if (m.type === 'stop') process.exit(0);
  });
} else if (process.argv[2] === 'agent') {
  const { CatalogView } = await import(join(SRC, 'catalog/view.ts'));
  const { CatalogSyncer } = await import(join(SRC, 'catalog/syncer.ts'));
  const { DnsServer } = await import(join(SRC, 'dns/server.ts'));
  const { defaultConfig } = await import(join(SRC, 'config/schema.ts'));
  const redis = new Redis(process.argv[3]!, { connectionName: 'bench-agent' });
  const view = new CatalogView();
  const syncer = new CatalogSyncer(new CatalogStore(redis, keys), view, {});
  await syncer.start();
  const c = defaultConfig();
  const dns = new DnsServer({ view, config: { ...c, clientAddr: '127.0.0.1', ports: { ...c.ports, dns: 0 }, dns: { ...c.dns, answerThread: process.argv[4] === 'thread' } } });
  const { udpPort } = await dns.listen();
  process.send!({ type: 'ready', port: udpPort });
  process.on('message', (m: { type: string }) => {
    if (m.type === 'reloads') process.send!({ type: 'reloads', n: syncer.reloads });
    if (m.type === 'stop') void Promise.all([dns.close(), syncer.stop()]).then(() => { redis.disconnect(); process.exit(0); });
  });
} else if (process.argv[2] === 'prober') {
  const port = Number(process.argv[3]);
  const sock = dgram.createSocket('udp4');
  const sent = new Map<number, number>();
  let lat: number[] = [];
  let lost = 0;
  let id = 0;
  sock.on('message', m => {
    const t = sent.get(m.readUInt16BE(0));
    if (t !== undefined) { sent.delete(m.readUInt16BE(0)); lat.push(performance.now() - t); }
  });
  setInterval(() => {
    const now = performance.now();
    for (const [k, t] of sent) if (now - t > 1000) { sent.delete(k); lost++; }
    id = (id + 1) & 0xffff;
    sent.set(id, now);
    sock.send(question(id, `svc${id % NAMES}.service.consul`), port, '127.0.0.1');
  }, 1);
  process.on('message', (m: { type: string }) => {
    if (m.type !== 'cut') return;
    const l = lat.sort((a, b) => a - b);
    const q = (p: number) => l[Math.min(l.length - 1, Math.floor(p * l.length))] ?? NaN;
    process.send!({ type: 'cut', n: l.length, p50: q(0.5), p99: q(0.99), p999: q(0.999), max: l.at(-1) ?? NaN, lost, over5: l.filter(x => x > 5).length });
    lat = []; lost = 0;
  });
} else {
  await main();
}

async function main(): Promise<void> {
  const { startEmbeddedRedis } = await import(join(SRC, 'store/embedded-redis.ts'));
  const instances = Number(process.argv[2] ?? 100_000);
  const quiet = Number(process.argv[3] ?? 5);
  const nodes = Math.ceil(instances / 5);
  const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));
  const r = await startEmbeddedRedis(mkdtempSync(join(tmpdir(), 'roster-bench-')));
  const admin = new Redis(r.url);
  const writer = new CatalogStore(new Redis(r.url), keys);
  await fillCatalog(writer, nodes);
  const ask = <T>(p: ChildProcess, type: string): Promise<T> => new Promise(res => { p.once('message', m => res(m as T)); p.send({ type }); });
  const rows: string[] = [];
  for (const mode of ['main', 'thread', 'bare']) {
    const agent = fork(import.meta.filename, [mode === 'bare' ? 'bare' : 'agent', r.url, mode], { execArgv: process.execArgv, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const port = await new Promise<number>(res => agent.once('message', (m: { port: number }) => res(m.port)));
    const prober = fork(import.meta.filename, ['prober', String(port)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    await sleep(1000);
    await ask(prober, 'cut'); // warm-up: every name asked once
    type Cut = { n: number; p50: number; p99: number; p999: number; max: number; lost: number; over5: number };
    const row = (phase: string, c: Cut, extra = '') => rows.push(`| ${mode} | ${phase} | ${c.n} | ${c.p50.toFixed(2)} | ${c.p99.toFixed(2)} | ${c.p999.toFixed(2)} | ${c.max.toFixed(1)} | ${c.over5} | ${c.lost} | ${extra} |`);
    await sleep(quiet * 1000);
    row('quiet', await ask<Cut>(prober, 'cut'));
    const reloads = async () => (await ask<{ n: number }>(agent, 'reloads')).n;
    const waitReload = async (from: number) => { for (let i = 0; i < 1500 && (await reloads()) === from; i++) await sleep(20); await sleep(2000); };
    if (mode !== 'bare') {
    // Forced (merged) reload: the change-log connection killed, the log trimmed meanwhile.
    let before = await reloads();
    await ask(prober, 'cut');
    // The reader may reconnect and read the writes before the trim (no gap, no reload): try again then.
    for (let attempt = 0; attempt < 5 && (await reloads()) === before; attempt++) {
      for (const line of String(await admin.call('CLIENT', 'LIST')).split('\n')) if (/ name=roster-changes /.test(line)) await admin.call('CLIENT', 'KILL', 'ID', /id=(\d+)/.exec(line)![1]!);
      await Promise.all(Array.from({ length: 99 }, (_, i) => writer.updateCheck(`n${i}`, 'c', attempt % 2 ? 'passing' : 'critical', 'reload')));
      await admin.xtrim(keys.stream, 'MAXLEN', 1);
      for (let i = 0; i < 100 && (await reloads()) === before; i++) await sleep(20);
    }
    await waitReload(before);
    row('forced reload', await ask<Cut>(prober, 'cut'), `${(await reloads()) - before} reload`);
    // Authoritative reload: the epoch bumped (a snapshot restore's rule).
    before = await reloads();
    await ask(prober, 'cut');
    await admin.xadd(keys.stream, '*', 'epoch', String(await admin.incr(keys.epoch))); // as the restore script writes it
    await waitReload(before);
    row('authoritative reload', await ask<Cut>(prober, 'cut'), `${(await reloads()) - before} reload`);
    }
    // Writers.
    await ask(prober, 'cut');
    const writes = await runFlippers(r.url, nodes, 10);
    row('writers', await ask<Cut>(prober, 'cut'), `${Math.round((writes[0]! + writes[1]!) / 10)} writes/s`);
    prober.kill();
    agent.send({ type: 'stop' });
    await new Promise(res => agent.once('exit', res));
  }
  console.log(`\n${instances} instances, load ${(await import('node:os')).loadavg()[0]!.toFixed(2)}\n\n| DNS on | phase | answers | p50 ms | p99 ms | p99.9 ms | max ms | > 5 ms | lost | |\n|---|---|---|---|---|---|---|---|---|---|`);
  for (const l of rows) console.log(l);
  admin.disconnect();
  writer.redis.disconnect();
  await r.stop();
  process.exit(0);
}
