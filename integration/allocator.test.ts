/**
 * The agent runs on jemalloc when the system has it (bin/roster preloads libjemalloc2, issue 19: parked
 * watchers' native memory stays flat from round to round), says so in its start-up line, and its children
 * (here a script check's /bin/sh) start with the environment the agent was given, not with the preload.
 * ROSTER_MALLOC=system keeps the system's malloc.
 */
import test from 'ava';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgent } from './helpers/agent.ts';
import { waitFor } from '../test/helpers/wait.ts';

const JEMALLOC = '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2';

test('allocator: the agent runs on jemalloc, logs it, and its script checks get the environment the agent was given', async t => {
  readFileSync(JEMALLOC); // libjemalloc2 is installed (Makefile RUN_PKGS, .ci/run): a missing library fails here
  const a = await startAgent(t, { env: { MALLOC_CONF: 'narenas:2' }, args: ['-enable-script-checks'] });
  await waitFor(() => /Roster agent running version/.test(a.log()), 15_000, { what: 'the start-up line' });
  t.regex(a.log(), /allocator=jemalloc/);
  t.true(readFileSync(`/proc/${a.proc.pid}/maps`, 'utf8').includes(JEMALLOC), 'libjemalloc is mapped into the agent');
  t.is(readFileSync(`/proc/${a.proc.pid}/environ`, 'utf8').split('\0').find(kv => kv.startsWith('MALLOC_CONF=')), 'MALLOC_CONF=narenas:2', 'the user\'s MALLOC_CONF wins over the default');
  // A script check writes the environment it was started with.
  const out = join(mkdtempSync(join(tmpdir(), 'roster-alloc-')), 'env');
  t.is((await a.req('PUT', '/v1/agent/check/register', { ID: 'env', Name: 'env', Args: ['/bin/sh', '-c', `env > ${out}.tmp && mv ${out}.tmp ${out}`], Interval: '1s' })).status, 200);
  await waitFor(() => existsSync(out), 15_000, { what: 'the script check\'s output' });
  const env = new Map(readFileSync(out, 'utf8').split('\n').filter(l => l.includes('=')).map(l => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  t.true(env.has('PATH'), 'the environment was read');
  t.false(env.has('LD_PRELOAD'), 'no preload inherited by children');
  t.is(env.get('MALLOC_CONF'), 'narenas:2', 'the user\'s MALLOC_CONF is what children get');
  t.false([...env.keys()].some(k => k.startsWith('ROSTER_PRELOAD') || k === 'ROSTER_MALLOC_CONF_WAS'));
});

test('allocator: ROSTER_MALLOC=system keeps the system malloc', async t => {
  const a = await startAgent(t, { env: { ROSTER_MALLOC: 'system' } });
  await waitFor(() => /Roster agent running version/.test(a.log()), 15_000, { what: 'the start-up line' });
  t.regex(a.log(), /allocator=system/);
  t.false(readFileSync(`/proc/${a.proc.pid}/maps`, 'utf8').includes('libjemalloc'));
});
