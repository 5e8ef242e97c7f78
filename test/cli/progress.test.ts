import test from 'ava';
import { progress } from '../../src/cli/progress.ts';

function sink(isTTY: boolean) {
  let text = '';
  return { isTTY, write: (s: string) => { text += s; }, text: () => text };
}

test('not a terminal, known total: one plain line per 10 % step and a last line', t => {
  const out = sink(false);
  const p = progress({ label: 'Registering services', total: 40, out, now: () => 0 });
  for (let i = 0; i < 40; i++) p.add(1);
  p.done();
  const lines = out.text().split('\n').filter(Boolean);
  t.is(lines.length, 10);
  t.is(lines[0], 'Registering services: 4/40 (10%)');
  t.is(lines[8], 'Registering services: 36/40 (90%)');
  t.is(lines[9], 'Registering services: 40/40 (100%), done');
  t.false(out.text().includes('\r') || out.text().includes('\x1b'));
});

test('not a terminal, unknown total: a line per second of progress, and failure said as such', t => {
  const out = sink(false);
  let now = 0;
  const p = progress({ label: 'Saving snapshot', out, now: () => now, format: n => `${n}B` });
  p.add(10); now = 500; p.add(10); now = 1000; p.add(10); now = 1500; p.add(5); now = 2100; p.add(1);
  p.done(false);
  t.is(out.text(), 'Saving snapshot: 30B\nSaving snapshot: 36B\nSaving snapshot: 36B, failed\n');
});

test('a terminal: a bar redrawn in place at most every 100 ms, cleared at the end', t => {
  const out = sink(true);
  let now = 1000;
  const p = progress({ label: 'Restoring snapshot', total: 200, out, now: () => now });
  p.add(50); now += 50; p.add(50); now += 60; p.add(50);
  p.done();
  t.is(out.text(), `\rRestoring snapshot: [${'#'.repeat(8)}${'.'.repeat(22)}]  25% 50/200\x1b[K\rRestoring snapshot: [${'#'.repeat(23)}${'.'.repeat(7)}]  75% 150/200\x1b[K\r\x1b[K`);
});

test('a terminal: a result line clears the bar first and redraws it after', t => {
  const out = sink(true);
  const res = sink(false);
  let now = 1000;
  const p = progress({ label: 'Registering services', total: 2, out, now: () => now });
  p.add(1);
  p.line('Registered service: a\n', { write: (s: string) => out.write(`<stdout>${s}`) });
  now += 200; p.add(1);
  p.done();
  void res;
  t.is(out.text(), `\rRegistering services: [${'#'.repeat(15)}${'.'.repeat(15)}]  50% 1/2\x1b[K\r\x1b[K<stdout>Registered service: a\n\rRegistering services: [${'#'.repeat(15)}${'.'.repeat(15)}]  50% 1/2\x1b[K\rRegistering services: [${'#'.repeat(30)}] 100% 2/2\x1b[K\r\x1b[K`);
});
