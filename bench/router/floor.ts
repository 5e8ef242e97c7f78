/**
 * The floor under `roster router`: the smallest keep-alive reverse proxy Node can run, with no
 * routing, no logging and no retries, once with node:http's client and once with undici's. Used by
 * bench/router/floor.sh to show why the router's upstream client is undici.
 *   node bench/router/floor.ts node-http|undici LISTEN_PORT BACKEND_PORT
 */
import { Agent, createServer, request } from 'node:http';
import { Pool } from 'undici';

const [kind, listen, backend] = process.argv.slice(2);
if ((kind !== 'node-http' && kind !== 'undici') || !listen || !backend) {
  console.error('usage: node bench/router/floor.ts node-http|undici LISTEN_PORT BACKEND_PORT');
  process.exit(2);
}
const HOP = /^(connection|keep-alive|transfer-encoding)$/i;

if (kind === 'node-http') {
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  createServer((req, res) => {
    const up = request({ host: '127.0.0.1', port: Number(backend), path: req.url, method: req.method, headers: req.headers, agent }, r => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    req.pipe(up);
  }).listen(Number(listen), '127.0.0.1');
} else {
  const pool = new Pool(`http://127.0.0.1:${backend}`, { connections: null, pipelining: 1 });
  createServer((req, res) => {
    pool.dispatch({ path: req.url ?? '/', method: req.method ?? 'GET', headers: req.rawHeaders }, {
      onConnect() {},
      onError() { res.statusCode = 502; res.end(); },
      onHeaders(status: number, raw: Buffer[]) {
        const h: string[] = [];
        for (let i = 0; i < raw.length; i += 2) { const k = raw[i]!.toString('latin1'); if (!HOP.test(k)) h.push(k, raw[i + 1]!.toString('latin1')); }
        res.writeHead(status, h);
        return true;
      },
      onData(chunk: Buffer) { return res.write(chunk); },
      onComplete() { res.end(); },
    } as never);
  }).listen(Number(listen), '127.0.0.1');
}
