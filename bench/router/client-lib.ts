/**
 * The client library's added latency per call: `client.fetch(service, path)` vs a plain `fetch(url)`
 * to the same backend, interleaved, sequential, after a warm-up. Prints JSON.
 *   node bench/router/client-lib.ts AGENT_HTTP SERVICE BACKEND_URL [CALLS]
 */
import { connect } from '../../src/index.ts';

const [agentAddr, service, backend, callsS] = process.argv.slice(2);
if (!agentAddr || !service || !backend) { console.error('usage: client-lib.ts AGENT_HTTP SERVICE BACKEND_URL [CALLS]'); process.exit(2); }
const calls = Number(callsS ?? 5000);
const client = connect({ httpAddr: agentAddr });
const plain: number[] = [];
const lib: number[] = [];
const one = async (f: () => Promise<Response>, into?: number[]) => {
  const t = performance.now();
  const r = await f();
  await r.arrayBuffer();
  if (!r.ok) throw new Error(`status ${r.status}`);
  into?.push(performance.now() - t);
};
const p = () => fetch(backend);
const c = () => client.fetch(service, '/');
for (let i = 0; i < 500; i++) { await one(p); await one(c); }
for (let i = 0; i < calls; i++) {
  if (i % 2) { await one(p, plain); await one(c, lib); } else { await one(c, lib); await one(p, plain); }
}
await client.close();
const q = (a: number[], p: number) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!; };
const r3 = (n: number) => +n.toFixed(3);
console.log(JSON.stringify({
  calls, plain_p50_ms: r3(q(plain, 50)), plain_p99_ms: r3(q(plain, 99)), lib_p50_ms: r3(q(lib, 50)), lib_p99_ms: r3(q(lib, 99)),
  added_p50_ms: r3(q(lib, 50) - q(plain, 50)), added_p99_ms: r3(q(lib, 99) - q(plain, 99)),
}));
