/**
 * The ceiling for DNS over TCP with large replies in Node: a bare `net` server answering every
 * length-prefixed query with one fixed reply of --size bytes (ID patched; one allocation and one
 * copy per reply, as any server that patches the ID must do). No DNS logic at all.
 *
 *   node bench/dns/bare-tcp-server.ts --port 5351 --size 65481
 */
import net from 'node:net';

const args = process.argv.slice(2);
const opt = (k: string, d: string): string => { const i = args.indexOf(k); return i >= 0 ? args[i + 1]! : d; };
const body = Buffer.alloc(Number(opt('--size', '65481')), 0x2a);
net.createServer(s => {
  let buf: Buffer = Buffer.alloc(0);
  s.on('error', () => s.destroy());
  s.on('data', (d: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, d]) : d;
    while (buf.length >= 2) {
      const n = buf.readUInt16BE(0);
      if (buf.length < n + 2) break;
      const out = Buffer.allocUnsafe(body.length + 2);
      out.writeUInt16BE(body.length, 0); body.copy(out, 2); buf.copy(out, 2, 2, 4);
      s.write(out);
      buf = buf.subarray(n + 2);
    }
  });
}).listen(Number(opt('--port', '5351')), '127.0.0.1', () => process.stdout.write('ready\n'));
