/**
 * Registration → DNS visibility latency: registers N services one by one through the HTTP API
 * and, for each, measures the time from sending the PUT until the agent's DNS first answers
 * `<name>.service.consul A` with the new address (polled over UDP every 0.5 ms).
 *
 *   node bench/registration.ts [N=1000]
 */
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';
import { startAgent } from '../integration/helpers/agent.ts';

const N = Number(process.argv[2] ?? 1000);
const agent = await startAgent(null, { args: ['-log-level', 'warn'] });
const sock = dgram.createSocket('udp4');
await new Promise<void>(r => sock.bind(0, '127.0.0.1', () => r()));
let waiter: ((b: Buffer) => void) | null = null;
sock.on('message', m => waiter?.(m));

function query(name: string, id: number): Promise<Buffer | null> {
  return new Promise(resolve => {
    const t = setTimeout(() => { waiter = null; resolve(null); }, 200);
    waiter = b => { if (b.readUInt16BE(0) === id) { clearTimeout(t); waiter = null; resolve(b); } };
    sock.send(dnsPacket.encode({ type: 'query', id, questions: [{ type: 'A', name }] }), agent.dnsPort, '127.0.0.1');
  });
}

const lat: number[] = [];
for (let i = 0; i < N; i++) {
  const name = `bench-${i}`;
  const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  const t0 = performance.now();
  const put = fetch(`${agent.http}/v1/agent/service/register`, { method: 'PUT', body: JSON.stringify({ Name: name, ID: name, Port: 80, Address: ip }) });
  for (let id = 1; ; id = (id % 65000) + 1) {
    const r = await query(`${name}.service.consul`, id);
    if (r) {
      const p = dnsPacket.decode(r);
      if (p.answers?.some(a => a.type === 'A' && a.data === ip)) break;
    }
    await new Promise(res => setTimeout(res, 0.5));
    if (performance.now() - t0 > 5000) throw new Error(`${name} not visible after 5 s`);
  }
  lat.push(performance.now() - t0);
  const res = await put;
  if (res.status !== 200) throw new Error(`register failed: ${res.status} ${await res.text()}`);
}
lat.sort((a, b) => a - b);
const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))]!.toFixed(2);
console.log(JSON.stringify({ bench: 'registration-to-dns', n: N, p50_ms: Number(pct(50)), p90_ms: Number(pct(90)), p99_ms: Number(pct(99)), max_ms: Number(lat[lat.length - 1]!.toFixed(2)) }));
sock.close();
await agent.stop('SIGINT');
