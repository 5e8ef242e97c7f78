/**
 * Progress of long CLI operations (issue 16), not on a terminal: `roster services register DIR`
 * registers every definition file of a folder and reports plain progress lines on stderr (stdout
 * keeps one result line per service); `deregister DIR` removes them again, with progress too. (The snapshot save and
 * restore forms are in snapshot.test.ts; the terminal bar is covered in test/cli/progress.test.ts.)
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROSTER, startAgent } from './helpers/agent.ts';

function run(args: string[], addr: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise(resolve => {
    const p = spawn(ROSTER, args, { env: { ...process.env, ROSTER_HTTP_ADDR: addr }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout.on('data', d => { stdout += String(d); });
    p.stderr.on('data', d => { stderr += String(d); });
    p.on('exit', code => resolve({ code, stdout, stderr }));
  });
}

test('services register DIR: every file, plain progress lines on stderr; deregister DIR', async t => {
  const agent = await startAgent(t);
  const addr = `127.0.0.1:${agent.httpPort}`;
  const dir = join(mkdtempSync(join(tmpdir(), 'roster-bulk-')), 'services');
  mkdirSync(dir);
  for (let i = 0; i < 30; i++) writeFileSync(join(dir, `svc-${String(i).padStart(2, '0')}.json`), JSON.stringify({ service: { name: `bulk-${i}`, id: `bulk-${i}`, port: 9000 + i } }));
  writeFileSync(join(dir, 'README.txt'), 'not a definition');
  const r = await run(['services', 'register', dir], addr);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout.split('\n').filter(Boolean).length, 30);
  t.true(r.stdout.startsWith('Registered service: bulk-0\nRegistered service: bulk-1\n'));
  const lines = r.stderr.split('\n').filter(Boolean);
  t.is(lines.at(-1), 'Registering services: 30/30 (100%), done');
  t.deepEqual(lines.slice(0, -1), [3, 6, 9, 12, 15, 18, 21, 24, 27].map(n => `Registering services: ${n}/30 (${Math.floor(n / 30 * 100)}%)`));
  t.false(r.stderr.includes('\x1b') || r.stderr.includes('\r'));
  const svcs = await agent.req('GET', '/v1/agent/services');
  t.is(Object.keys(svcs.json).filter(k => k.startsWith('bulk-')).length, 30);

  const d = await run(['services', 'deregister', dir], addr);
  t.is(d.code, 0, d.stderr);
  t.is(d.stdout.split('\n').filter(Boolean).length, 30);
  const dl = d.stderr.split('\n').filter(Boolean);
  t.is(dl.at(-1), 'Deregistering services: 30/30 (100%), done');
  t.deepEqual(dl.slice(0, -1), [3, 6, 9, 12, 15, 18, 21, 24, 27].map(n => `Deregistering services: ${n}/30 (${Math.floor(n / 30 * 100)}%)`));
  t.is(Object.keys((await agent.req('GET', '/v1/agent/services')).json).filter(k => k.startsWith('bulk-')).length, 0);

  const empty = mkdtempSync(join(tmpdir(), 'roster-empty-'));
  const e = await run(['services', 'register', empty], addr);
  t.is(e.code, 1);
  t.regex(e.stderr, /no service definition files \(\*\.json\) in /);
});
