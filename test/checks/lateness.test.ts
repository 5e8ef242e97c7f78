import test from 'ava';
import { OVERDUE_GRACE_MS, TimingRegistry, overdueBoundMs, overdueBy } from '../../src/checks/lateness.ts';

test('lateness: the overdue bound is interval + timeout + grace', t => {
  t.is(overdueBoundMs(1000, 10_000), 11_000 + OVERDUE_GRACE_MS);
});

test('lateness: overdue is measured from the last scheduled run, or from scheduling plus one interval when that is later', t => {
  // Ran at 10,000 with interval 1 s, timeout 1 s: on time until 10,000 + 5,000.
  t.is(overdueBy(15_000, 10_000, 0, 1000, 1000), 0);
  t.is(overdueBy(15_001, 10_000, 0, 1000, 1000), 1);
  t.true(overdueBy(12_000, 10_000, 0, 1000, 1000) < 0);
  // Never ran, scheduled at 0: its first run may come up to one interval later.
  t.true(overdueBy(6000, 0, 0, 1000, 1000) <= 0);
  t.is(overdueBy(6500, 0, 0, 1000, 1000), 500);
  // Last ran long ago (the agent was stopped), scheduled again at 50,000: on time until 50,000 + 1,000 + 5,000.
  t.true(overdueBy(56_000, 1000, 50_000, 1000, 1000) <= 0);
  t.is(overdueBy(56_100, 1000, 50_000, 1000, 1000), 100);
});

test('lateness: the registry keeps the last and worst lateness per check, clears overdue on a run, forgets removed checks', t => {
  const r = new TimingRegistry();
  r.recordRun('Node1', 'web', 12, 1000);
  r.recordRun('node1', 'web', 80, 2000);
  r.recordRun('node1', 'web', 5, 3000);
  t.deepEqual(r.get('node1', 'web'), { runs: 3, lastLatenessMs: 5, maxLatenessMs: 80, lastRunAt: 3000, overdueMs: 0 });
  r.setOverdue('node1', 'web', 4200);
  t.is(r.snapshot()['node1/web']!.overdueMs, 4200);
  r.recordRun('node1', 'web', 3, 9000);
  t.is(r.get('node1', 'web')!.overdueMs, 0);
  r.setOverdue('node1', 'other', -5); // on time and never seen: nothing is stored
  t.is(r.size, 1);
  r.forget('NODE1', 'web');
  t.is(r.size, 0);
});
