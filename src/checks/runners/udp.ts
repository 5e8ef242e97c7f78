/**
 * @module UDP check runner, as Consul's CheckUDP: send a datagram on a connected socket; a reply,
 * or silence until the timeout, is passing (`UDP connect <addr>: Success`); an ICMP error
 * (ECONNREFUSED on the connected socket) is critical.
 */
import { createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { CheckDefinition } from '../../catalog/model.ts';
import type { RunResult } from '../types.ts';
import { splitHostPort } from './addr.ts';

/** Consul sends this payload. */
const MESSAGE = Buffer.from('Hello, World!');

/** Runs one UDP probe (send, wait for a reply or an ICMP error until the signal aborts). */
export function runUdp(def: CheckDefinition, signal: AbortSignal): Promise<RunResult> {
  const addr = def.UDP ?? '';
  return new Promise<RunResult>(resolve => {
    const hp = splitHostPort(addr);
    if (!hp) { resolve({ status: 'critical', output: `dial udp ${addr}: address ${addr}: missing port in address` }); return; }
    const ok: RunResult = { status: 'passing', output: `UDP connect ${addr}: Success` };
    const sock = createSocket(isIPv6(hp.host) ? 'udp6' : 'udp4');
    let done = false;
    let local = '';
    const finish = (r: RunResult) => {
      if (done) return;
      done = true;
      signal.removeEventListener('abort', onAbort);
      try { sock.close(); } catch { /* closed */ }
      resolve(r);
    };
    // No reply and no ICMP error within the timeout: passing, as Consul treats an i/o timeout.
    const onAbort = () => finish(ok);
    if (signal.aborted) { onAbort(); return; }
    signal.addEventListener('abort', onAbort);
    sock.on('message', () => finish(ok));
    sock.on('error', err => {
      const e = err as NodeJS.ErrnoException;
      const msg = e.code === 'ECONNREFUSED' ? `read udp ${local}->${addr}: recvfrom: connection refused` : `dial udp ${addr}: ${e.message}`;
      finish({ status: 'critical', output: msg });
    });
    sock.connect(hp.port, hp.host, () => {
      try { const a = sock.address(); local = `${a.address}:${a.port}`; } catch { /* ignore */ }
      sock.send(MESSAGE, err => { if (err) finish({ status: 'critical', output: `write udp ${local}->${addr}: ${err.message}` }); });
    });
  });
}
