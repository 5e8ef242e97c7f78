/**
 * The client library's DNS SRV fallback: node's built-in Resolver (c-ares, what src/client/dns.ts
 * uses) against dns2's client, on the same local UDP server answering 3 SRV (encoded by dns-packet).
 * Prints the median time of one SRV lookup and each client's import cost.
 *
 *   node bench/dns/srv-client.ts [lookups=2000]
 */
import { createRequire } from 'node:module';
import { Resolver } from 'node:dns/promises';
import { createSocket } from 'node:dgram';
import dnsPacket from 'dns-packet';

const require = createRequire(import.meta.url);
const n = Number(process.argv[2] ?? 2000);
let t = performance.now();
const DNS = require('dns2'); // eslint-disable-line @typescript-eslint/no-require-imports
const dns2Import = performance.now() - t;
const server = createSocket('udp4');
server.on('message', (msg, rinfo) => {
  const q = dnsPacket.decode(msg);
  const name = q.questions![0]!.name;
  const answers = [0, 1, 2].map(i => ({ name, type: 'SRV' as const, class: 'IN' as const, ttl: 0, data: { priority: 1, weight: 1, port: 8080 + i, target: `0a00000${i}.addr.dc1.consul` } }));
  server.send(dnsPacket.encode({ id: q.id, type: 'response', flags: dnsPacket.AUTHORITATIVE_ANSWER, questions: q.questions, answers }), rinfo.port, rinfo.address);
});
await new Promise<void>(r => server.bind(0, '127.0.0.1', r));
const port = server.address().port;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
async function time(fn: () => Promise<unknown>): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < 200; i++) await fn(); // warm-up
  for (let i = 0; i < n; i++) { const s = performance.now(); await fn(); xs.push(performance.now() - s); }
  return median(xs);
}
const r = new Resolver({ timeout: 1000, tries: 2 });
r.setServers([`127.0.0.1:${port}`]);
const client = new DNS({ nameServers: ['127.0.0.1'], port, timeout: 1000 });
const node = await time(() => r.resolveSrv('web.service.consul'));
const d2 = await time(() => client.resolve('web.service.consul', 'SRV'));
console.log('| client | SRV lookup, median | import |');
console.log('|---|---|---|');
console.log(`| node:dns Resolver (built in) | ${(node * 1000).toFixed(0)} µs | 0 ms |`);
console.log(`| dns2 ${require('dns2/package.json').version} | ${(d2 * 1000).toFixed(0)} µs | ${dns2Import.toFixed(1)} ms |`);
server.close();
