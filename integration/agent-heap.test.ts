/** The launcher caps the agent's heap (issue 11 item 8): bin/roster passes V8 heap flags to `agent` only, overridable. */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { startAgent } from './helpers/agent.ts';

const cmdline = (pid: number): string[] => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');

test('agent heap: bin/roster starts the agent with --max-old-space-size=1536 and --max-semi-space-size=8', async t => {
  const a = await startAgent(t);
  const args = cmdline(a.proc.pid!);
  t.true(args.includes('--max-old-space-size=1536'), args.join(' '));
  t.true(args.includes('--max-semi-space-size=8'));
});

test('agent heap: ROSTER_AGENT_NODE_FLAGS replaces the flags', async t => {
  const a = await startAgent(t, { env: { ROSTER_AGENT_NODE_FLAGS: '--max-old-space-size=300' } });
  const args = cmdline(a.proc.pid!);
  t.true(args.includes('--max-old-space-size=300'));
  t.false(args.some(x => x.startsWith('--max-semi-space-size')));
});
