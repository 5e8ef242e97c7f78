import test from 'ava';
import { TransmitLimitedQueue, retransmitLimit } from '../../src/gossip/broadcast.ts';

for (const [n, expected] of [[0, 0], [1, 4], [3, 4], [9, 4], [10, 8], [99, 8], [100, 12], [200, 12], [1000, 16]] as const) {
  test(`broadcast: retransmit limit with RetransmitMult 4 and n=${n} is ${expected}`, t => {
    t.is(retransmitLimit(4, n), expected);
  });
}

test('broadcast: each message is sent exactly RetransmitMult × ceil(log10(n+1)) times, then finished', t => {
  let n = 3;
  const q = new TransmitLimitedQueue(4, () => n);
  let done = 0;
  q.queue({ name: 'a', msg: Uint8Array.of(1, 2, 3), finished: () => done++ });
  let sends = 0;
  for (let i = 0; i < 10; i++) sends += q.getBroadcasts(2, 1400).length;
  t.is(sends, 4);
  t.is(done, 1);
  t.is(q.length, 0);
  n = 20;
  q.queue({ name: 'b', msg: Uint8Array.of(1) });
  sends = 0;
  for (let i = 0; i < 20; i++) sends += q.getBroadcasts(2, 1400).length;
  t.is(sends, 8, 'limit grows with the cluster');
});

test('broadcast: a newer message about the same node replaces the queued one', t => {
  const q = new TransmitLimitedQueue(4, () => 3);
  const finished: string[] = [];
  q.queue({ name: 'n1', msg: Uint8Array.of(1), finished: () => finished.push('old') });
  q.queue({ name: 'n2', msg: Uint8Array.of(2) });
  q.queue({ name: 'n1', msg: Uint8Array.of(3), finished: () => finished.push('new') });
  t.deepEqual(finished, ['old']);
  t.is(q.length, 2);
  const sent = q.getBroadcasts(2, 1400).map(m => m[0]);
  t.deepEqual(sent.sort(), [2, 3]);
  // Unnamed (Serf) messages never invalidate each other.
  q.queue({ name: null, msg: Uint8Array.of(9) });
  q.queue({ name: null, msg: Uint8Array.of(9) });
  t.is(q.length, 4);
});

test('broadcast: least-transmitted first, then largest, within the byte budget', t => {
  const q = new TransmitLimitedQueue(4, () => 3);
  q.queue({ name: 'old', msg: new Uint8Array(100) });
  t.is(q.getBroadcasts(2, 1400).length, 1);
  q.queue({ name: 'small', msg: new Uint8Array(10) });
  q.queue({ name: 'big', msg: new Uint8Array(50) });
  // Budget fits only one 50 + overhead: the fresh big one wins over the old one.
  const first = q.getBroadcasts(2, 60);
  t.deepEqual(first.map(m => m.length), [50]);
  // Budget for two: fresh small (0 transmits) first, then the larger of the 1-transmit tier.
  const second = q.getBroadcasts(2, 120);
  t.deepEqual(second.map(m => m.length), [10, 100]);
  t.deepEqual(q.getBroadcasts(2, 11), [], 'nothing fits');
});

test('broadcast: prune keeps the newest, least-transmitted messages', t => {
  const q = new TransmitLimitedQueue(4, () => 3);
  let dropped = 0;
  for (let i = 0; i < 10; i++) q.queue({ name: null, msg: Uint8Array.of(i), finished: () => dropped++ });
  q.prune(4);
  t.is(q.length, 4);
  t.is(dropped, 6);
  t.deepEqual(q.getBroadcasts(2, 1400).map(m => m[0]).sort(), [6, 7, 8, 9]);
});
