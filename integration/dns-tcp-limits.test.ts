/**
 * DNS over TCP under abuse (issue 11 item 5), real sockets on loopback against the in-process
 * DnsServer: a per-message read deadline that bytes do not reset (miekg/dns: 2 s to read a
 * message, 8 s idle), a per-client connection cap, and other clients answered while one client
 * holds connections open.
 */
import test from 'ava';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import { CatalogView } from '../src/catalog/view.ts';
import { defaultConfig } from '../src/config/schema.ts';
import type { Config } from '../src/config/schema.ts';
import { DnsServer } from '../src/dns/server.ts';

function frame(name: string, id = 7): Buffer {
  const q = dnsPacket.encode({ id, type: 'query', questions: [{ name, type: 'SOA', class: 'IN' }] });
  const l = Buffer.alloc(2); l.writeUInt16BE(q.length);
  return Buffer.concat([l, q]);
}

async function server(dns: Partial<Config['dns']> = {}, o: { tcpMaxConnections?: number } = {}): Promise<{ s: DnsServer; port: number }> {
  const c = defaultConfig();
  const s = new DnsServer({ view: new CatalogView(), config: { ...c, ports: { ...c.ports, dns: 0 }, dns: { ...c.dns, ...dns } }, ...o });
  const { tcpPort } = await s.listen();
  return { s, port: tcpPort };
}

/** Connects from `local` (a loopback address) and resolves once connected, or with null when the server closes it first. */
function connect(port: number, local = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((res, rej) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress: local });
    s.once('connect', () => res(s));
    s.once('error', rej);
  });
}

/** Sends one query and resolves with the reply's rcode, or 'closed' if the connection closes first. */
function askTcp(s: net.Socket, name: string, timeoutMs: number): Promise<string> {
  return new Promise(res => {
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => res('timeout'), timeoutMs);
    s.on('data', d => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) { clearTimeout(timer); res((dnsPacket.decode(buf.subarray(2)) as { rcode?: string }).rcode ?? '?'); }
    });
    s.once('close', () => { clearTimeout(timer); res('closed'); });
    s.on('error', () => {});
    s.write(frame(name));
  });
}

test('dns tcp: a message trickled one byte every 250 ms is cut off before it completes (read deadline, not an idle timer)', async t => {
  const { s, port } = await server();
  const sock = await connect(port);
  const msg = frame('consul'); // 2 + 23 bytes: 6 s at this pace
  let sent = 0; let answered = false; let closed = false;
  sock.on('data', () => { answered = true; });
  sock.on('error', () => {});
  await new Promise<void>(res => {
    sock.once('close', () => { closed = true; res(); });
    const tick = setInterval(() => {
      if (closed) return;
      if (sent >= msg.length) { clearInterval(tick); return; }
      sock.write(msg.subarray(sent, ++sent));
    }, 250);
    sock.once('close', () => clearInterval(tick));
    setTimeout(() => { clearInterval(tick); sock.destroy(); res(); }, 12_000);
  });
  t.true(closed, 'the server closed the connection');
  t.false(answered, 'the trickled message was never answered');
  t.true(sent < msg.length, `closed after ${sent} of ${msg.length} bytes`);
  await s.close();
});

test('dns tcp: one client holding every slot it may have does not stop another client being answered', async t => {
  // 40 slots in all, 10 per client: the old server let one client take all 40.
  const { s, port } = await server({ tcpMaxConnsPerClient: 10 }, { tcpMaxConnections: 40 });
  const held: net.Socket[] = [];
  let refused = 0;
  for (let i = 0; i < 40; i++) {
    const c = await connect(port, '127.0.0.1');
    c.on('error', () => {});
    c.write(Buffer.from([0])); // one byte of a length prefix: a message in progress
    held.push(c);
  }
  await new Promise(r => setTimeout(r, 200));
  for (const c of held) if (c.destroyed || c.readableEnded) refused++;
  const other = await connect(port, '127.0.0.2');
  const rcode = await askTcp(other, 'consul', 1500);
  t.is(rcode, 'NOERROR');
  t.is(refused, 30, 'the 11th to 40th connections of one client were closed at once');
  for (const c of held) c.destroy();
  other.destroy();
  await s.close();
});

test('dns tcp: at the global limit the oldest idle connection makes room for a new client', async t => {
  const { s, port } = await server({ tcpMaxConnsPerClient: 100 }, { tcpMaxConnections: 5 });
  const idle: net.Socket[] = [];
  for (let i = 0; i < 5; i++) {
    const c = await connect(port, `127.0.0.${10 + i}`);
    t.is(await askTcp(c, 'consul', 1500), 'NOERROR'); // answered, now idle
    idle.push(c);
  }
  const late = await connect(port, '127.0.0.20');
  t.is(await askTcp(late, 'consul', 1500), 'NOERROR');
  await new Promise(r => setTimeout(r, 100));
  t.true(idle[0]!.destroyed || idle[0]!.readableEnded, 'the oldest idle connection was closed');
  t.false(idle[4]!.destroyed || idle[4]!.readableEnded, 'the newest idle connection was kept');
  for (const c of [...idle, late]) c.destroy();
  await s.close();
});

test('dns tcp: pipelined queries on one connection are still all answered', async t => {
  const { s, port } = await server();
  const c = await connect(port);
  const got: number[] = [];
  await new Promise<void>(res => {
    let buf = Buffer.alloc(0);
    c.on('data', d => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        got.push(dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0))).id ?? -1);
        buf = buf.subarray(2 + buf.readUInt16BE(0));
        if (got.length === 3) res();
      }
    });
    c.write(Buffer.concat([frame('consul', 1), frame('consul', 2), frame('consul', 3).subarray(0, 5)]));
    setTimeout(() => c.write(frame('consul', 3).subarray(5)), 100);
  });
  t.deepEqual(got, [1, 2, 3]);
  c.destroy();
  await s.close();
});

test('dns tcp: after its answer a connection sending nothing is closed by the idle timeout, not before the answer', async t => {
  const c = defaultConfig();
  const s = new DnsServer({ view: new CatalogView(), config: { ...c, ports: { ...c.ports, dns: 0 } }, tcpIdleMs: 300, tcpReadMs: 5000 });
  const { tcpPort } = await s.listen();
  const sock = await connect(tcpPort);
  const rcode = await askTcp(sock, 'consul', 3000);
  t.is(rcode, 'NOERROR');
  const closed = await new Promise<boolean>(res => { if (sock.destroyed) res(true); sock.once('close', () => res(true)); setTimeout(() => res(false), 4000); });
  t.true(closed, 'closed well before the 5 s read deadline could have applied');
  await s.close();
});

test('dns tcp: trickling clients on many addresses filling every slot do not stop another client being answered', async t => {
  const { s, port } = await server({ tcpMaxConnsPerClient: 10 }, { tcpMaxConnections: 30 });
  const held: net.Socket[] = [];
  for (let a = 0; a < 3; a++) {
    for (let i = 0; i < 10; i++) {
      const c = await connect(port, `127.0.2.${a + 1}`);
      c.on('error', () => {});
      c.write(Buffer.from([0])); // a message in progress, never finished
      held.push(c);
    }
  }
  await new Promise(r => setTimeout(r, 400)); // every held message is now slower than any real client's
  const other = await connect(port, '127.0.3.1');
  t.is(await askTcp(other, 'consul', 1500), 'NOERROR');
  for (const c of held) c.destroy();
  other.destroy();
  await s.close();
});
