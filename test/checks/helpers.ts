/** Test helpers for the checks tests: polling, and a fast in-process DNS A query for latency measurements. */
import { createSocket } from 'node:dgram';
import dnsPacket from 'dns-packet';
import { waitFor as wait } from '../helpers/wait.ts';

/** Polls `fn` every `everyMs` until it returns true; returns the time it did; throws after timeoutMs (test/helpers/wait.ts). */
export async function waitFor(fn: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<number> {
  await wait(fn, timeoutMs, { every: everyMs });
  return Date.now();
}

let qid = 1;
/** One A query over UDP to 127.0.0.1:port; true when the answer section is non-empty. */
export function dnsA(port: number, name: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    const id = (qid = (qid + 1) & 0xffff);
    const timer = setTimeout(() => { s.close(); reject(new Error('dns timeout')); }, 1000);
    s.on('message', m => {
      const p = dnsPacket.decode(m);
      if (p.id !== id) return;
      clearTimeout(timer);
      s.close();
      resolve((p.answers ?? []).length > 0);
    });
    s.send(dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name }] }), port, '127.0.0.1');
  });
}
