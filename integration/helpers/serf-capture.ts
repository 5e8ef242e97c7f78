// Captures raw bytes from a real serf agent for the unit-test vectors in test/gossip/fixtures.
// Run: node integration/helpers/serf-capture.ts  (needs /usr/bin/serf; uses ports 27946/27960/27999).
import { spawn } from 'node:child_process';
import net from 'node:net';
import dgram from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { encode } from '../../src/gossip/codec.ts';
import { encryptPayload } from '../../src/gossip/keyring.ts';
const key = Buffer.from('5K9OtfP7efFrNKe5WCQvXvnaXJ5cWP0SvXiwe0kkjM4=', 'base64');
const out: Record<string, string> = {};
async function run(encrypt: boolean) {
  const port = encrypt ? 27960 : 27946;
  const s1 = spawn('serf', ['agent', '-node=s1', `-bind=127.0.0.1:${port}`, `-rpc-addr=127.0.0.1:${port - 27946 + 27373}`, '-tag', 'role=oracle', ...(encrypt ? [`-encrypt=${key.toString('base64')}`] : [])], { stdio: 'ignore' });
  await new Promise(r => setTimeout(r, 800));
  try {
    // UDP ping from our socket and capture the raw ack.
    const sock = dgram.createSocket('udp4');
    await new Promise<void>(r => sock.bind(27999, '127.0.0.1', () => r()));
    let ping: Uint8Array = Uint8Array.from([0, ...encode({ SeqNo: 7, Node: 's1' })]);
    if (encrypt) ping = encryptPayload(1, key, ping);
    const got = new Promise<Buffer>(r => sock.once('message', m => r(m)));
    sock.send(ping, port, '127.0.0.1');
    const ack = await got; sock.close();
    out[encrypt ? 'encryptedAck' : 'plainAck'] = ack.toString('hex');
    if (!encrypt) {
      // TCP push-pull with zero nodes; capture the raw reply.
      const c = net.connect(port, '127.0.0.1');
      await new Promise(r => c.once('connect', r));
      c.write(Buffer.from([6, ...encode({ Nodes: 0, UserStateLen: 0, Join: false })]));
      const chunks: Buffer[] = [];
      c.on('data', d => chunks.push(d));
      await new Promise(r => c.once('close', r));
      out.pushPullReply = Buffer.concat(chunks).toString('hex');
    }
  } finally { s1.kill('SIGKILL'); }
}
await run(false); await run(true);
out.key = key.toString('base64');
writeFileSync(new URL('../../test/gossip/fixtures/serf-captures.json', import.meta.url), JSON.stringify(out, null, 1) + '\n');
console.log(Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.length])));
