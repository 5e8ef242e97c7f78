/**
 * A closed-loop DNS-over-TCP load generator (dnsperf 2.10 drops TCP replies larger than its
 * 4 KiB buffer, so it cannot measure 64 KiB SRV answers). C connections, each with Q queries in
 * flight (RFC 7766 pipelining), for DUR seconds; every reply is framed by its length prefix and
 * matched by ID. Bounded in time: it stops by itself after DUR seconds (+2 s to drain).
 *
 *   node bench/dns/tcp-load.ts --port 5350 --name big.service.consul --type SRV [-c 4] [-q 16] [-l 8]
 * Prints one line: qps, replies, avg/p99 latency (ms), average reply bytes.
 */
import net from 'node:net';
import dnsPacket from 'dns-packet';

const args = process.argv.slice(2);
const opt = (k: string, d: string): string => { const i = args.indexOf(k); return i >= 0 ? args[i + 1]! : d; };
const port = Number(opt('--port', '5350')); const C = Number(opt('-c', '4')); const Q = Number(opt('-q', '16'));
const DUR = Number(opt('-l', '8')) * 1000;
const query = dnsPacket.encode({ id: 0, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name: opt('--name', 'big.service.consul'), type: opt('--type', 'SRV') as 'SRV', class: 'IN' }] });
const framed = Buffer.alloc(query.length + 2); framed.writeUInt16BE(query.length, 0); query.copy(framed, 2);

let replies = 0; let bytes = 0; let errors = 0;
const lat: number[] = [];
const t0 = performance.now(); let stopping = false;
function conn(): Promise<void> {
  return new Promise(resolve => {
    const s = net.connect(port, '127.0.0.1');
    s.setNoDelay(true);
    const sent = new Map<number, number>(); let id = 0;
    const send = (): void => { id = (id + 1) & 0xffff; framed.writeUInt16BE(id, 2); sent.set(id, performance.now()); s.write(Buffer.from(framed)); };
    let buf: Buffer = Buffer.alloc(0);
    s.on('connect', () => { for (let i = 0; i < Q; i++) send(); });
    s.on('data', (d: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      while (buf.length >= 2) {
        const n = buf.readUInt16BE(0);
        if (buf.length < n + 2) break;
        const rid = buf.readUInt16BE(2);
        const at = sent.get(rid);
        if (at !== undefined) { sent.delete(rid); lat.push(performance.now() - at); replies++; bytes += n; } else errors++;
        buf = buf.subarray(n + 2);
        if (!stopping) send();
      }
      if (stopping && sent.size === 0) s.end();
    });
    s.on('error', () => { errors++; });
    s.on('close', () => resolve());
  });
}
const timer = setTimeout(() => { stopping = true; }, DUR);
const hard = setTimeout(() => process.exit(2), DUR + 2000);
const done = Promise.all(Array.from({ length: C }, conn));
await new Promise<void>(r => { const i = setInterval(() => { if (stopping) { clearInterval(i); r(); } }, 50); });
const el = (performance.now() - t0) / 1000;
const n = replies;
await Promise.race([done, new Promise(r => setTimeout(r, 1500))]);
clearTimeout(timer); clearTimeout(hard);
lat.sort((a, b) => a - b);
const p = (x: number): string => (lat[Math.min(lat.length - 1, Math.floor(lat.length * x))] ?? 0).toFixed(2);
console.log(`qps=${Math.round(n / el)} replies=${n} errors=${errors} avg_ms=${(lat.reduce((a, b) => a + b, 0) / Math.max(1, lat.length)).toFixed(2)} p99_ms=${p(0.99)} resp=${Math.round(bytes / Math.max(1, replies))}B`);
process.exit(0);
