/**
 * The `roster` CLI verbs (members, catalog, services, kv, watch, lock, maint, info, event)
 * run as processes against a real agent. Needs `npx tsc -p tsconfig.build.json` first.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROSTER, startAgent, type TestAgent } from './helpers/agent.ts';

let agent: TestAgent;
let addr: string;
const dir = mkdtempSync(join(tmpdir(), 'roster-cli-'));
test.before(async () => { agent = await startAgent(null); addr = `127.0.0.1:${agent.httpPort}`; });
test.after.always(async () => { await agent?.stop(); });

interface Run { code: number | null; stdout: string; stderr: string }

function run(args: string[], opts: { env?: Record<string, string>; input?: string; noAddr?: boolean } = {}): Promise<Run> {
  return new Promise(resolve => {
    const env: Record<string, string> = { ...(process.env as Record<string, string>) };
    delete env.CONSUL_HTTP_ADDR;
    delete env.ROSTER_HTTP_ADDR;
    Object.assign(env, opts.env);
    if (!opts.noAddr) env.ROSTER_HTTP_ADDR = addr;
    const p = spawn(ROSTER, args, { env });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', d => { stdout += String(d); });
    p.stderr.on('data', d => { stderr += String(d); });
    p.stdin.end(opts.input ?? '');
    p.on('exit', code => resolve({ code, stdout, stderr }));
  });
}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

test('cli members: Consul columns; -format=json; -http-addr and CONSUL_HTTP_ADDR', async t => {
  const r = await run(['members']);
  t.is(r.code, 0);
  const [head, row] = r.stdout.trim().split('\n');
  t.deepEqual(head!.split(/\s+/), ['Node', 'Address', 'Status', 'Type', 'Build', 'Protocol', 'DC', 'Partition', 'Segment']);
  t.deepEqual(row!.split(/\s+/).slice(0, 4), [agent.node, `127.0.0.1:${agent.serfPort}`, 'alive', 'server']);
  const j = await run(['members', '-format=json']);
  t.is(JSON.parse(j.stdout)[0].Name, agent.node);
  t.is((await run(['members', '-http-addr', addr], { noAddr: true })).code, 0);
  t.is((await run(['members'], { noAddr: true, env: { CONSUL_HTTP_ADDR: `http://${addr}` } })).code, 0);
  const down = await run(['members', '-http-addr', '127.0.0.1:1'], { noAddr: true });
  t.is(down.code, 1);
  t.regex(down.stderr, /Error retrieving members/);
  t.is(down.stdout, '');
});

test('cli kv: put/get/detailed/recurse/keys/cas/flags/delete', async t => {
  t.is((await run(['kv', 'put', 'cli/a', 'hello'])).stdout, 'Success! Data written to: cli/a\n');
  t.is((await run(['kv', 'get', 'cli/a'])).stdout, 'hello\n');
  writeFileSync(join(dir, 'v.txt'), 'from-file');
  await run(['kv', 'put', '-flags', '7', 'cli/b/c', `@${join(dir, 'v.txt')}`]);
  await run(['kv', 'put', 'cli/d', '-'], { input: 'from-stdin' });
  t.is((await run(['kv', 'get', 'cli/d'])).stdout, 'from-stdin\n');
  t.is((await run(['kv', 'get', '-recurse', 'cli/'])).stdout, 'cli/a:hello\ncli/b/c:from-file\ncli/d:from-stdin\n');
  t.is((await run(['kv', 'get', '-keys', 'cli/'])).stdout, 'cli/a\ncli/b/\ncli/d\n');
  const det = (await run(['kv', 'get', '-detailed', 'cli/b/c'])).stdout;
  t.regex(det, /^Flags\s+7$/m);
  t.regex(det, /^Value\s+from-file$/m);
  const mi = Number(/^ModifyIndex\s+(\d+)$/m.exec(det)![1]);
  const bad = await run(['kv', 'put', '-cas', '-modify-index', String(mi + 100), 'cli/b/c', 'x']);
  t.is(bad.code, 1);
  t.is(bad.stderr, 'Error! Did not write to cli/b/c: CAS failed\n');
  t.is((await run(['kv', 'put', '-cas', '-modify-index', String(mi), 'cli/b/c', 'y'])).code, 0);
  const json = JSON.parse((await run(['kv', 'get', '-format=json', 'cli/b/c'])).stdout);
  t.is(Buffer.from(json[0].Value, 'base64').toString(), 'y');
  const miss = await run(['kv', 'get', 'cli/none']);
  t.is(miss.code, 1);
  t.is(miss.stderr, 'Error! No key exists at: cli/none\n');
  t.is((await run(['kv', 'delete', 'cli/a'])).stdout, 'Success! Deleted key: cli/a\n');
  t.is((await run(['kv', 'delete', '-recurse', 'cli/'])).stdout, 'Success! Deleted keys with prefix: cli/\n');
  t.is((await run(['kv', 'get', '-recurse', 'cli/'])).stdout, '');
});

test('cli services register (file and flags), catalog services/nodes/datacenters, deregister', async t => {
  const f = join(dir, 'svc.json');
  writeFileSync(f, JSON.stringify({ service: { name: 'cli-web', id: 'cli-web-1', port: 8080, tags: ['blue'], check: { ttl: '30s' } } }));
  t.is((await run(['services', 'register', f])).stdout, 'Registered service: cli-web\n');
  t.is((await run(['services', 'register', '-name', 'cli-db', '-port', '5432', '-tag', 'primary', '-meta', 'env=prod'])).stdout, 'Registered service: cli-db\n');
  const svcs = await run(['catalog', 'services', '-tags']);
  t.regex(svcs.stdout, /^cli-db\s+primary$/m);
  t.regex(svcs.stdout, /^cli-web\s+blue$/m);
  t.true((await run(['catalog', 'services'])).stdout.split('\n').includes('consul'));
  const nodes = (await run(['catalog', 'nodes'])).stdout.trim().split('\n');
  t.deepEqual(nodes[0]!.split(/\s+/), ['Node', 'ID', 'Address', 'DC']);
  t.is(nodes[1]!.split(/\s+/)[0], agent.node);
  t.is((await run(['catalog', 'datacenters'])).stdout, 'dc1\n');
  t.is((await run(['services', 'deregister', f])).stdout, 'Deregistered service: cli-web-1\n');
  t.is((await run(['services', 'deregister', '-id', 'cli-db'])).code, 0);
  const none = await run(['services', 'deregister', '-id', 'cli-db']);
  t.is(none.code, 1);
  t.regex(none.stderr, /Unexpected response code: 404/);
});

test('cli watch -type key prints JSON on each change of its key only; a handler gets the JSON on stdin', async t => {
  await run(['kv', 'put', 'w/key', 'one']);
  const p = spawn(ROSTER, ['watch', '-type', 'key', '-key', 'w/key'], { env: { ...process.env, ROSTER_HTTP_ADDR: addr } });
  let out = '';
  p.stdout.on('data', d => { out += String(d); });
  t.teardown(() => p.kill('SIGKILL'));
  const count = () => (out.match(/"Key": "w\/key"/g) ?? []).length;
  for (let i = 0; i < 50 && count() < 1; i++) await sleep(100);
  t.is(count(), 1);
  await run(['kv', 'put', 'w/other', 'x']);
  await run(['kv', 'put', 'w/key', 'one']);
  await sleep(500);
  t.is(count(), 1, 'no output for another key or an identical write');
  await run(['kv', 'put', 'w/key', 'two']);
  for (let i = 0; i < 50 && count() < 2; i++) await sleep(100);
  t.is(count(), 2);
  t.true(out.includes(Buffer.from('two').toString('base64')));

  const sink = join(dir, 'handler.out');
  const h = spawn(ROSTER, ['watch', '-type', 'keyprefix', '-prefix', 'w/', `cat >> ${sink}; echo "idx=$CONSUL_INDEX" >> ${sink}`], { env: { ...process.env, ROSTER_HTTP_ADDR: addr } });
  t.teardown(() => h.kill('SIGKILL'));
  for (let i = 0; i < 50 && !existsSync(sink); i++) await sleep(100);
  await run(['kv', 'put', 'w/third', '3']);
  for (let i = 0; i < 50 && (readFileSync(sink, 'utf8').match(/idx=/g) ?? []).length < 2; i++) await sleep(100);
  const text = readFileSync(sink, 'utf8');
  t.is((text.match(/idx=\d+/g) ?? []).length, 2);
  t.true(text.includes('"w/third"'));
});

test('cli watch -type services and -type service', async t => {
  const p = spawn(ROSTER, ['watch', '-type', 'service', '-service', 'watched'], { env: { ...process.env, ROSTER_HTTP_ADDR: addr } });
  let out = '';
  p.stdout.on('data', d => { out += String(d); });
  t.teardown(() => p.kill('SIGKILL'));
  for (let i = 0; i < 50 && !out.includes('[]'); i++) await sleep(100);
  t.true(out.startsWith('[]'));
  await run(['services', 'register', '-name', 'watched', '-port', '1']);
  for (let i = 0; i < 50 && !out.includes('"Service": "watched"'); i++) await sleep(100);
  t.true(out.includes('"Service": "watched"'));
  const s = await run(['watch', '-type', 'bogus']);
  t.is(s.code, 1);
  t.is(s.stderr, 'Unsupported watch type: bogus\n');
});

test('cli lock: runs the command under the lock, serialises two holders, propagates the exit code', async t => {
  const marks = join(dir, 'lock.out');
  const a = run(['lock', 'locks/job', `echo a-start >> ${marks}; sleep 1.5; echo a-end >> ${marks}; exit 4`]);
  for (let i = 0; i < 100 && !(existsSync(marks) && readFileSync(marks, 'utf8').includes('a-start')); i++) await sleep(50);
  const b = run(['lock', 'locks/job', `echo b-start >> ${marks}; echo b-end >> ${marks}`]);
  const [ra, rb] = await Promise.all([a, b]);
  t.is(ra.code, 4);
  t.is(rb.code, 0);
  t.deepEqual(readFileSync(marks, 'utf8').trim().split('\n'), ['a-start', 'a-end', 'b-start', 'b-end']);
  const kv = await agent.req('GET', '/v1/kv/locks/job/.lock');
  t.is(kv.json[0].Session, undefined, 'released after exit');
  t.is((await agent.req('GET', '/v1/session/list')).json.filter((s: { Name: string }) => s.Name.includes('locks/job')).length, 0);
});

test('cli maint, info, event', async t => {
  t.is((await run(['maint', '-enable', '-reason', 'upgrading'])).stdout, 'Node maintenance is now enabled\n');
  t.regex((await run(['maint'])).stdout, /Reason: upgrading/);
  t.is((await run(['maint', '-disable'])).stdout, 'Node maintenance is now disabled\n');
  t.is((await run(['maint'])).stdout, '');
  const info = (await run(['info'])).stdout;
  t.regex(info, /^agent:$/m);
  t.regex(info, /^\tnode_name = /m);
  const ev = await run(['event', '-name', 'deploy', 'v1.2']);
  t.regex(ev.stdout, /^Event ID: [0-9a-f-]{36}\n$/);
  const list = (await agent.req('GET', '/v1/event/list?name=deploy')).json;
  t.is(Buffer.from(list.at(-1).Payload, 'base64').toString(), 'v1.2');
  t.is((await run(['event'])).code, 1);
});

test('cli -h / -help / --help: every command lists its flags and exits 0, as Consul\'s commands do', async t => {
  for (const [args, flag] of [[['router', '-h'], '-workers=<value>'], [['agent', '-help'], '-config-dir=<value> (repeatable)'], [['kv', 'put', '--help'], '-cas'], [['members', '-h'], '-detailed'], [['registrar', '-h'], '-config-dir=<value>']] as const) {
    const r = await run([...args]);
    t.is(r.code, 0, args.join(' '));
    t.regex(r.stderr, new RegExp(`^Usage: roster ${args[0]} \\[options\\]`), args.join(' '));
    t.true(r.stderr.includes(`\n  ${flag}`), `${args.join(' ')}: ${r.stderr}`);
  }
  const bad = await run(['members', '-nosuch']);
  t.is(bad.code, 1);
  t.is(bad.stderr, 'flag provided but not defined: -nosuch\n');
});
