import test from 'ava';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { createSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { runHttp } from '../../src/checks/runners/http.ts';
import { runTcp } from '../../src/checks/runners/tcp.ts';
import { runUdp } from '../../src/checks/runners/udp.ts';
import { runOnce, timeoutSignal } from '../../src/checks/runners/index.ts';
import { mock } from 'node:test';
import { waitFor } from '../helpers/wait.ts';

/** A fake clock (node:test mock timers): `settle(p)` advances it 1 ms at a time (real I/O in between) until p settles; returns p and the fake ms it took. */
function fakeClock(t: { teardown(fn: () => void): void }) {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  t.teardown(() => mock.timers.reset());
  return async <T>(p: Promise<T>, maxMs = 5000): Promise<{ value: T; ms: number }> => {
    let done = false;
    const q = p.finally(() => { done = true; });
    const t0 = Date.now();
    for (let i = 0; i < maxMs && !done; i++) {
      for (let j = 0; j < 3 && !done; j++) await new Promise(r => setImmediate(r));
      if (!done) mock.timers.tick(1);
    }
    return { value: await q, ms: Date.now() - t0 };
  };
}

let server: Server;
let base = '';
const hugeSent: number[] = [];
const seen: { method: string; headers: Record<string, unknown>; body: string }[] = [];

test.before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', c => { body += c; });
    req.on('end', () => {
      seen.push({ method: req.method!, headers: req.headers, body });
      const code = Number(req.url!.slice(1)) || 200;
      if (req.url === '/hang') return; // never answers
      if (req.url === '/redir') { res.writeHead(302, { Location: '/500' }); res.end(); return; }
      if (req.url === '/redir-ok') { res.writeHead(301, { Location: '/204' }); res.end(); return; }
      if (req.url === '/big') { res.writeHead(200); res.end('START' + 'x'.repeat(5000) + 'END'); return; }
      if (req.url === '/huge') { // 10 MB, written as fast as the client reads; counts what left the server
        res.writeHead(200, { 'Content-Length': String(10 << 20) });
        const chunk = Buffer.alloc(64 << 10, 'y');
        let sent = 0;
        const pump = () => { while (sent < 10 << 20) { sent += chunk.length; if (!res.write(chunk)) { res.once('drain', pump); return; } } res.end(); };
        res.on('close', () => { hugeSent.push(sent); });
        pump();
        return;
      }
      if (req.url === '/trickle') { res.writeHead(200); res.write('a'); return; } // headers, then a body that never ends
      res.writeHead(code);
      res.end(`body ${code}`);
    });
  });
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
test.after.always(() => { server.closeAllConnections(); server.close(); });

const cases: [string, 'passing' | 'warning' | 'critical', string][] = [
  ['/200', 'passing', ': 200 OK Output: body 200'],
  ['/204', 'passing', ': 204 No Content Output: '],
  ['/429', 'warning', ': 429 Too Many Requests Output: body 429'],
  ['/500', 'critical', ': 500 Internal Server Error Output: body 500'],
  ['/404', 'critical', ': 404 Not Found Output: body 404'],
  ['/redir-ok', 'passing', ': 204 No Content Output: '],
  ['/redir', 'critical', ': 500 Internal Server Error Output: body 500'],
];
for (const [path, status, out] of cases) {
  test(`http runner: ${path} is ${status} with Consul's output`, async t => {
    const r = await runHttp({ HTTP: base + path }, AbortSignal.timeout(2000));
    t.is(r.status, status);
    t.is(r.output, `HTTP GET ${base}${path}${out}`);
  });
}

test.serial('http runner: a target hanging past the timeout is critical', async t => {
  const settle = fakeClock(t);
  const { value: r, ms } = await settle(runOnce('http', { HTTP: base + '/hang' }, 300));
  t.is(r.status, 'critical');
  t.true(ms < 1500);
  t.true(ms >= 300 && ms <= 305, `ended by its 300 ms timeout (${ms} ms)`);
  t.regex(r.output, /^Get "http:\/\/127\.0\.0\.1:\d+\/hang": context deadline exceeded/);
  t.true(r.output.endsWith('context deadline exceeded (Client.Timeout exceeded while awaiting headers)'), r.output);
});

test.serial('http runner: a body that never ends times out "while reading body", not "awaiting headers"', async t => {
  const settle = fakeClock(t);
  const { value: r, ms } = await settle(runOnce('http', { HTTP: base + '/trickle' }, 300));
  t.true(ms >= 300 && ms <= 305, `ended by its 300 ms timeout (${ms} ms)`);
  t.is(r.status, 'critical');
  t.is(r.output, `Get "${base}/trickle": context deadline exceeded (Client.Timeout or context cancellation while reading body)`);
});

test('http runner: a 10 MB body is read no further than 4 KiB and the connection is dropped', async t => {
  hugeSent.length = 0;
  const r = await runHttp({ HTTP: base + '/huge' }, AbortSignal.timeout(5000));
  t.is(r.status, 'passing');
  t.is(r.output, `HTTP GET ${base}/huge: 200 OK Output: ${'y'.repeat(4096)}`);
  await waitFor(() => hugeSent.length > 0, 5000, { what: 'the server to see the runner hang up' });
  t.is(hugeSent.length, 1);
  // The server could only push what the socket buffers held before the runner hung up (a few MB at most on loopback).
  t.true(hugeSent[0]! < 10 << 20, `server sent ${hugeSent[0]} bytes`);
});

test('http runner: connection refused is critical with Go wording', async t => {
  const r = await runHttp({ HTTP: 'http://127.0.0.1:1/' }, AbortSignal.timeout(2000));
  t.is(r.status, 'critical');
  t.is(r.output, 'Get "http://127.0.0.1:1/": dial tcp 127.0.0.1:1: connect: connection refused');
});

test('http runner: Method, Header, Body and the Consul default headers are sent; output keeps the first 4 KiB', async t => {
  seen.length = 0;
  const r = await runHttp({ HTTP: base + '/201', Method: 'POST', Header: { 'X-A': ['1'], Host: ['example.test'] }, Body: '{"a":1}' }, AbortSignal.timeout(2000));
  t.is(r.status, 'passing');
  t.true(r.output.startsWith(`HTTP POST ${base}/201: 201 Created`));
  const s = seen.find(x => x.method === 'POST')!;
  t.truthy(s);
  t.is(s.method, 'POST');
  t.is(s.body, '{"a":1}');
  t.is(s.headers['x-a'], '1');
  t.is(s.headers.host, 'example.test');
  t.is(s.headers['user-agent'], 'Consul Health Check');
  t.is(s.headers.accept, 'text/plain, text/*, */*');
  const big = await runHttp({ HTTP: base + '/big' }, AbortSignal.timeout(2000));
  const body = big.output.slice(big.output.indexOf('Output: ') + 8);
  t.is(body.length, 4096);
  t.true(body.startsWith('START'));
});

test('tcp runner: listening port passes, closed port is critical', async t => {
  const srv = createTcpServer(s => s.destroy());
  await new Promise<void>(r => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  const ok = await runTcp({ TCP: `127.0.0.1:${port}` }, AbortSignal.timeout(2000));
  t.deepEqual(ok, { status: 'passing', output: `TCP connect 127.0.0.1:${port}: Success` });
  await new Promise(r => srv.close(r));
  const bad = await runTcp({ TCP: `127.0.0.1:${port}` }, AbortSignal.timeout(2000));
  t.deepEqual(bad, { status: 'critical', output: `dial tcp 127.0.0.1:${port}: connect: connection refused` });
  const noPort = await runTcp({ TCP: 'localhost' }, AbortSignal.timeout(2000));
  t.is(noPort.status, 'critical');
});

test.serial('udp runner: echo reply passes, silence until timeout passes, ICMP port unreachable is critical', async t => {
  const settle = fakeClock(t);
  const echo = createSocket('udp4');
  echo.on('message', (m, rinfo) => echo.send(m, rinfo.port, rinfo.address));
  await new Promise<void>(r => echo.bind(0, '127.0.0.1', r));
  const port = echo.address().port;
  const echoed = await settle(runUdp({ UDP: `127.0.0.1:${port}` }, timeoutSignal(2000)));
  t.deepEqual(echoed.value, { status: 'passing', output: `UDP connect 127.0.0.1:${port}: Success` });
  t.true(echoed.ms < 1000, `a reply ends the probe early (${echoed.ms} ms of its 2000)`);
  const silent = createSocket('udp4');
  await new Promise<void>(r => silent.bind(0, '127.0.0.1', r));
  const sp = silent.address().port;
  t.is((await settle(runUdp({ UDP: `127.0.0.1:${sp}` }, timeoutSignal(200)))).value.status, 'passing');
  silent.close();
  echo.close();
  const closed = (await settle(runUdp({ UDP: `127.0.0.1:${sp}` }, timeoutSignal(1000)))).value;
  t.is(closed.status, 'critical');
  t.regex(closed.output, /connection refused/);
});
