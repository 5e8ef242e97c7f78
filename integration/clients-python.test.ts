/**
 * Debian's python3-consul 0.7.1 (run with /usr/bin/python3) against a real agent: register with
 * checks → health → deregister (GET, legacy compat), KV CAS and recursive reads, session lock
 * contention between two clients, a blocking watch that wakes on its key only.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, startAgent, type TestAgent } from './helpers/agent.ts';

const PY = '/usr/bin/python3';
const SCRIPT = join(ROOT, 'integration/helpers/clients/python_client.py');
let agent: TestAgent;

// python-consul 0.7 sends GET to write endpoints: it needs the legacy GET compatibility, off by default.
// python-consul under Debian's /usr/bin/python3 is installed by `make test-deps` (.ci/run); missing, the tests fail.
test.before(async () => {
  if (!existsSync(PY)) throw new Error(`${PY} is missing: install python3-consul (make test-deps)`);
  agent = await startAgent(null, { args: ['-legacy-get-compat'] });
});
test.after.always(async () => { await agent?.stop(); });

function py(scenario: string): Promise<{ code: number; out: Record<string, unknown>; stderr: string }> {
  return new Promise(resolve => {
    execFile(PY, [SCRIPT, String(agent.httpPort), scenario], { timeout: 30_000 }, (err, stdout, stderr) => {
      let out: Record<string, unknown> = {};
      try { out = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}'); } catch { out = { raw: stdout }; }
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out, stderr });
    });
  });
}

for (const scenario of ['register', 'kv', 'lock', 'watch', 'misc']) {
  test.serial(`python-consul: ${scenario}`, async t => {
    const r = await py(scenario);
    t.is(r.code, 0, `${JSON.stringify(r.out)}\n${r.stderr}`);
    t.true(r.out.ok === true);
  });
}
