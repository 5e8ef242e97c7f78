/** A tiny DNS responder on 127.0.0.1 (UDP and TCP, same port) standing in for a recursor in tests. */
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import type { Packet } from 'dns-packet';

export interface Upstream { port: number; addr: string; queries: Packet[]; close(): Promise<void> }

/** `answer` returns the reply packet, a raw Buffer, or null to stay silent. */
export async function upstream(answer: (q: Packet, transport: 'udp' | 'tcp') => Packet | Buffer | null): Promise<Upstream> {
  for (let attempt = 0; ; attempt++) {
    try { return await bindUpstream(answer); } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 20) throw e;
    }
  }
}

async function bindUpstream(answer: (q: Packet, transport: 'udp' | 'tcp') => Packet | Buffer | null): Promise<Upstream> {
  const queries: Packet[] = [];
  const udp = dgram.createSocket('udp4');
  const reply = (msg: Buffer, t: 'udp' | 'tcp'): Buffer | null => {
    const q = dnsPacket.decode(msg);
    queries.push(q);
    const r = answer(q, t);
    if (r === null) return null;
    if (Buffer.isBuffer(r)) { const b = Buffer.from(r); b.writeUInt16BE(q.id ?? 0, 0); return b; }
    return dnsPacket.encode({ ...r, id: q.id, type: 'response', questions: q.questions });
  };
  udp.on('message', (m, rinfo) => { const r = reply(m, 'udp'); if (r) udp.send(r, rinfo.port, rinfo.address); });
  await new Promise<void>(res => udp.bind(0, '127.0.0.1', () => res()));
  const port = udp.address().port;
  const tcp = net.createServer(s => {
    let buf = Buffer.alloc(0);
    s.on('error', () => s.destroy());
    s.on('data', d => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const m = buf.subarray(2, 2 + buf.readUInt16BE(0)); buf = buf.subarray(2 + m.length);
        const r = reply(m, 'tcp');
        if (r) { const l = Buffer.alloc(2); l.writeUInt16BE(r.length); s.write(Buffer.concat([l, r])); }
      }
    });
  });
  try {
    await new Promise<void>((res, rej) => { tcp.once('error', rej); tcp.listen(port, '127.0.0.1', () => res()); });
  } catch (e) { udp.close(); throw e; }
  return {
    port, addr: `127.0.0.1:${port}`, queries,
    close: () => new Promise<void>(res => { udp.close(); tcp.close(() => res()); }),
  };
}
