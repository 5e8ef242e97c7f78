import test from 'ava';
import { Registry } from 'prom-client';
import { Discovery } from '../../src/client/discovery.ts';
import { enableClientMetrics, registerMetricsHook } from '../../src/client/metrics.ts';
import type { AgentApi } from '../../src/client/api.ts';

const entry = (id: string, port: number) => ({
  Node: { Node: 'n1', Address: '10.0.0.1' },
  Service: { ID: id, Service: 'web', Address: '', Port: port, Tags: null, Meta: null },
  Checks: [{ Status: 'passing', CheckID: 'c' }],
});

/** An agent API that answers the first health read and then holds every blocking read until aborted. */
function fakeApi(): AgentApi {
  let first = true;
  return {
    call: async (_m: string, _p: string, o: { signal?: AbortSignal }) => {
      if (first) { first = false; return { body: [entry('a', 1), entry('b', 2)], index: 5 }; }
      await new Promise((_r, reject) => o.signal?.addEventListener('abort', () => reject(new Error('aborted'))));
      throw new Error('aborted');
    },
  } as unknown as AgentApi;
}

test.serial('the hook sees every pick and every ejection, with the service and instance', async t => {
  const seen: string[] = [];
  const off = registerMetricsHook({ pick: (s, i) => seen.push(`pick ${s} ${i.id}`), eject: (s, i, ms) => seen.push(`eject ${s} ${i.id} ${ms}`) });
  const d = new Discovery('web', { api: fakeApi() }, { ejectBaseMs: 1000 });
  t.teardown(() => d.close());
  const a = await d.pick();
  d.report(a, false);
  d.report(a, true);
  off();
  await d.pick();
  t.deepEqual(seen, [`pick web ${a.id}`, `eject web ${a.id} 1000`]);
});

test.serial('enableClientMetrics counts picks and ejections in a prom-client registry; a throwing hook breaks nothing', async t => {
  const reg = new Registry();
  const off = enableClientMetrics(reg);
  const offBad = registerMetricsHook({ pick: () => { throw new Error('host bug'); } });
  const d = new Discovery('web', { api: fakeApi() });
  t.teardown(() => { d.close(); off(); offBad(); });
  for (let i = 0; i < 3; i++) await d.pick();
  d.report((await d.pick()), false);
  const text = await reg.metrics();
  t.regex(text, /^roster_client_picks\{service="web"\} 4$/m);
  t.regex(text, /^roster_client_ejections\{service="web"\} 1$/m);
});
