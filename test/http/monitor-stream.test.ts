import test from 'ava';
import { logger, logSubscriberCount, setLogLevel } from '../../src/log.ts';
import { MonitorStream } from '../../src/http/monitor-stream.ts';

setLogLevel('error'); // stderr quiet; subscribers still get their levels
const log = logger('test.mod');

test.serial('lines at or above the subscriber level, whatever the agent level; text and JSON forms; redacted', t => {
  const s = new MonitorStream('debug', false);
  const j = new MonitorStream('info', true);
  log.trace('not this');
  log.debug('hello', { service: 'web', token: 'sekrit' });
  log.info('second');
  const text = String(s.read());
  t.regex(text, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[DEBUG\] test\.mod: hello service=web token=\[redacted\]\n.*\[INFO\]  test\.mod: second\n$/);
  t.false(text.includes('not this'));
  const lines = String(j.read()).trim().split('\n').map(l => JSON.parse(l));
  t.deepEqual(lines.map(l => [l['@level'], l['@module'], l['@message']]), [['info', 'test.mod', 'second']]);
  t.truthy(lines[0]['@timestamp']);
  s.destroy(); j.destroy();
  t.is(logSubscriberCount(), 0);
});

test.serial('a consumer that does not read: the buffer stays bounded, drops are counted and reported when it catches up', t => {
  const s = new MonitorStream('info', false, 100);
  for (let i = 0; i < 10_000; i++) log.info('line', { i });
  // Node's own buffer holds what was pushed before the consumer stopped (≤ highWaterMark); the queue holds at most 100.
  t.true(s.readableLength <= 16 * 1024 + 200, String(s.readableLength));
  t.true(s.dropped > 9_000, String(s.dropped));
  let all = '';
  let chunk: unknown;
  while ((chunk = s.read()) !== null) all += String(chunk);
  log.info('after');
  while ((chunk = s.read()) !== null) all += String(chunk);
  t.regex(all, new RegExp(`\\[WARN\\]  agent\\.http: Dropped logs during monitor request: dropped_count=${s.dropped}\\n`));
  t.true(all.endsWith('test.mod: after\n'));
  const kept = all.split('\n').filter(l => l.includes('test.mod: line')).length;
  t.is(kept + s.dropped, 10_000);
  s.destroy();
  t.is(logSubscriberCount(), 0);
});
