/**
 * The Node.js ceiling: a dgram socket answering every query with one fixed pre-encoded SRV
 * reply, only the 2-byte ID patched (a ring of copies so a queued send is never rewritten).
 *
 *   node bench/dns/bare-server.ts --port 5341
 */
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';

const i = process.argv.indexOf('--port');
const port = Number(i >= 0 ? process.argv[i + 1] : 5341);
const tpl = dnsPacket.encode({
  id: 0, type: 'response', flags: dnsPacket.AUTHORITATIVE_ANSWER,
  questions: [{ name: 'svc0000.service.consul', type: 'SRV', class: 'IN' }],
  answers: [0, 1, 2].map(k => ({ name: 'svc0000.service.consul', type: 'SRV' as const, class: 'IN' as const, ttl: 0, data: { priority: 1, weight: 1, port: 20000 + k, target: `node${k}.node.dc1.consul` } })),
  additionals: [0, 1, 2].map(k => ({ name: `node${k}.node.dc1.consul`, type: 'A' as const, class: 'IN' as const, ttl: 0, data: `10.1.0.${k}` })),
});
const RING = 1024;
const ring = Array.from({ length: RING }, () => Buffer.from(tpl));
let n = 0;
const sock = dgram.createSocket('udp4');
sock.on('message', (msg, r) => {
  const out = ring[n++ & (RING - 1)]!;
  out[0] = msg[0]!; out[1] = msg[1]!;
  sock.send(out, r.port, r.address);
});
sock.bind(port, '127.0.0.1', () => {
  try { sock.setRecvBufferSize(4 << 20); sock.setSendBufferSize(4 << 20); } catch { /* best effort */ }
  process.stdout.write(`ready bare on 127.0.0.1:${port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
