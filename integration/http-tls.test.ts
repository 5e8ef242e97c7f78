/**
 * HTTPS for the HTTP API (issue 14, "TLS for HTTP") with real openssl-made certificates and real
 * curl: ports.https beside HTTP and instead of it, verify_incoming (a client certificate signed by
 * the CA accepted, none refused, one from another CA refused), certificates re-read on SIGHUP and
 * PUT /v1/agent/reload, and the roster CLI's -ca-file / -client-cert / -client-key and
 * CONSUL_HTTP_ADDR=https://..., CONSUL_HTTP_SSL, CONSUL_CACERT, CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY.
 */
import test from 'ava';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../src/store/embedded-redis.ts';
import { ROSTER, startAgent, type TestAgent } from './helpers/agent.ts';
import { until } from './helpers/wait.ts';

const sh = (dir: string, cmd: string) => execFileSync('sh', ['-c', cmd], { cwd: dir, stdio: 'ignore' });

/** A CA, a server certificate for 127.0.0.1, a client certificate; and a second CA with its own client. */
function pki(dir: string): void {
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  for (const ca of ['ca', 'other-ca']) sh(dir, `openssl req -x509 -newkey rsa:2048 -nodes -keyout ${ca}.key -out ${ca}.crt -days 2 -subj /CN=roster-test-${ca}`);
  for (const [who, ca] of [['server', 'ca'], ['client', 'ca'], ['server2', 'ca'], ['stranger', 'other-ca']]) {
    sh(dir, `openssl req -newkey rsa:2048 -nodes -keyout ${who}.key -out ${who}.csr -subj /CN=roster-${who}`);
    sh(dir, `openssl x509 -req -in ${who}.csr -CA ${ca}.crt -CAkey ${ca}.key -CAcreateserial -out ${who}.crt -days 2 -extfile san.ext`);
  }
}

/** Runs curl; resolves with its exit code, stdout and stderr (-v output included). */
function curl(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise(resolve => {
    execFile('curl', ['-sS', '--max-time', '10', ...args], (e, out, err) => resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, out, err }));
  });
}

function roster(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  return new Promise(resolve => {
    execFile(ROSTER, args, { env: { ...process.env, CONSUL_HTTP_ADDR: '', ROSTER_HTTP_ADDR: '', ...env }, timeout: 20_000 }, (e, out, err) => resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, out, err }));
  });
}

let dir: string;
let agent: TestAgent;
let https: number;
test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'roster-https-'));
  pki(dir);
  copyFileSync(join(dir, 'server.crt'), join(dir, 'live.crt'));
  copyFileSync(join(dir, 'server.key'), join(dir, 'live.key'));
  https = await freePort();
  // Consul's current form (tls.defaults) in HCL.
  writeFileSync(join(dir, 'tls.hcl'), `ports { https = ${https} }\ntls {\n  defaults {\n    ca_file = "${dir}/ca.crt"\n    cert_file = "${dir}/live.crt"\n    key_file = "${dir}/live.key"\n    verify_incoming = true\n  }\n}\n`);
  agent = await startAgent(null, { args: ['-config-file', join(dir, 'tls.hcl')] });
});
test.after.always(async () => { await agent?.stop(); });

const url = (p: string) => `https://127.0.0.1:${https}${p}`;
const client = () => ['--cacert', join(dir, 'ca.crt'), '--cert', join(dir, 'client.crt'), '--key', join(dir, 'client.key')];

test.serial('curl with a client certificate signed by the CA is answered over HTTPS, beside plain HTTP', async t => {
  const r = await curl([...client(), url('/v1/status/leader')]);
  t.is(r.code, 0, r.err);
  t.regex(r.out, /^"127\.0\.0\.1:\d+"$/);
  t.is((await curl([...client(), '-X', 'PUT', '--data', 'v', url('/v1/kv/tls/k')])).out, 'true');
  t.is((await agent.req('GET', '/v1/kv/tls/k?raw')).text, 'v', 'plain HTTP still serves');
  const self = (await agent.req('GET', '/v1/agent/self')).json;
  t.deepEqual(self.DebugConfig.HTTPSAddrs, [`tcp://127.0.0.1:${https}`]);
});

test.serial('without a client certificate, or with one from another CA, the handshake is refused', async t => {
  const none = await curl(['--cacert', join(dir, 'ca.crt'), url('/v1/status/leader')]);
  t.not(none.code, 0);
  t.is(none.out, '');
  const stranger = await curl(['--cacert', join(dir, 'ca.crt'), '--cert', join(dir, 'stranger.crt'), '--key', join(dir, 'stranger.key'), url('/v1/status/leader')]);
  t.not(stranger.code, 0);
  t.is(stranger.out, '');
  const plainOnTls = await curl([`http://127.0.0.1:${https}/v1/status/leader`]);
  t.not(plainOnTls.code, 0, 'plain HTTP on the HTTPS port is not answered');
});

test.serial('the server certificate is re-read on SIGHUP and on PUT /v1/agent/reload', async t => {
  const subject = async () => (await curl(['-v', ...client(), url('/v1/status/leader')])).err.match(/subject: (.*)/)?.[1] ?? '';
  t.regex(await subject(), /CN ?= ?roster-server$/);
  copyFileSync(join(dir, 'server2.crt'), join(dir, 'live.crt'));
  copyFileSync(join(dir, 'server2.key'), join(dir, 'live.key'));
  agent.proc.kill('SIGHUP');
  await until('renewed certificate served', async () => /roster-server2/.test(await subject()), 10_000);
  t.regex(await subject(), /CN ?= ?roster-server2$/);
  copyFileSync(join(dir, 'server.crt'), join(dir, 'live.crt'));
  copyFileSync(join(dir, 'server.key'), join(dir, 'live.key'));
  const r = await curl([...client(), '-X', 'PUT', url('/v1/agent/reload')]);
  t.is(r.code, 0, r.err);
  t.regex(await subject(), /CN ?= ?roster-server$/);
  // An unreadable certificate fails the reload and keeps serving the old one.
  writeFileSync(join(dir, 'live.crt'), 'garbage');
  const bad = await agent.req('PUT', '/v1/agent/reload');
  t.is(bad.status, 500);
  t.regex(await subject(), /CN ?= ?roster-server$/);
  copyFileSync(join(dir, 'server.crt'), join(dir, 'live.crt'));
});

test.serial('roster CLI: -ca-file/-client-cert/-client-key, CONSUL_HTTP_SSL and the CONSUL_* variables, https:// in CONSUL_HTTP_ADDR', async t => {
  const flags = await roster(['kv', 'get', '-http-addr', `https://127.0.0.1:${https}`, '-ca-file', join(dir, 'ca.crt'), '-client-cert', join(dir, 'client.crt'), '-client-key', join(dir, 'client.key'), 'tls/k']);
  t.is(flags.code, 0, flags.err);
  t.is(flags.out, 'v\n');
  const env = await roster(['kv', 'get', 'tls/k'], { CONSUL_HTTP_ADDR: `127.0.0.1:${https}`, CONSUL_HTTP_SSL: 'true', CONSUL_CACERT: join(dir, 'ca.crt'), CONSUL_CLIENT_CERT: join(dir, 'client.crt'), CONSUL_CLIENT_KEY: join(dir, 'client.key') });
  t.is(env.code, 0, env.err);
  t.is(env.out, 'v\n');
  const scheme = await roster(['members'], { CONSUL_HTTP_ADDR: `https://127.0.0.1:${https}`, CONSUL_CACERT: join(dir, 'ca.crt'), CONSUL_CLIENT_CERT: join(dir, 'client.crt'), CONSUL_CLIENT_KEY: join(dir, 'client.key') });
  t.is(scheme.code, 0, scheme.err);
  t.regex(scheme.out, new RegExp(agent.node));
  const noCert = await roster(['kv', 'get', 'tls/k'], { CONSUL_HTTP_ADDR: `https://127.0.0.1:${https}`, CONSUL_CACERT: join(dir, 'ca.crt') });
  t.is(noCert.code, 1);
  const noCa = await roster(['kv', 'get', 'tls/k'], { CONSUL_HTTP_ADDR: `https://127.0.0.1:${https}`, CONSUL_CLIENT_CERT: join(dir, 'client.crt'), CONSUL_CLIENT_KEY: join(dir, 'client.key') });
  t.is(noCa.code, 1, 'the server certificate is checked against the CA');
});

test.serial('HTTPS instead of HTTP (ports.http = -1, Consul\'s older top-level keys): config services still register', async t => {
  const port = await freePort();
  const cfg = join(dir, 'only.json');
  writeFileSync(cfg, JSON.stringify({
    ports: { http: -1, https: port }, ca_file: join(dir, 'ca.crt'), cert_file: join(dir, 'server.crt'), key_file: join(dir, 'server.key'), verify_incoming: true,
    service: { name: 'tls-only-svc', port: 1 },
  }));
  const [dns, serf] = [await freePort(), await freePort()];
  const proc = spawn(ROSTER, ['agent', '-dev', '-node', 'tls-only', '-dns-port', String(dns), '-serf-lan-port', String(serf), '-data-dir', join(dir, 'only-data'), '-config-file', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout!.on('data', d => { log += String(d); });
  proc.stderr!.on('data', d => { log += String(d); });
  t.teardown(() => { proc.kill('SIGKILL'); });
  const u = `https://127.0.0.1:${port}`;
  await until('https-only agent up', async () => (await curl([...client(), `${u}/v1/status/leader`])).code === 0, 30_000).catch(err => { throw new Error(`${(err as Error).message}\n${log}`); });
  // The start-up line may reach this pipe after the listener already answers.
  await until('start-up line says http=off', async () => /http=off/.test(log), 10_000).catch(() => undefined);
  t.regex(log, /http=off/);
  await until('config service registered over HTTPS', async () => (await curl([...client(), `${u}/v1/agent/services`])).out.includes('tls-only-svc'), 15_000);
  t.true((await curl([...client(), `${u}/v1/agent/service/tls-only-svc`])).out.includes('"Port":1'), 'the config service came through the agent\'s own HTTPS API');
  proc.kill('SIGTERM');
});
