/**
 * Fixed-rate (open-loop) HTTP load generator for the router benchmark: sends `rate` requests/s for
 * `duration` s over keep-alive connections and prints latency percentiles as JSON. Latency is
 * measured from the scheduled send time, so queueing in the target shows up (no coordinated omission).
 * The first second (same rate) is a warm-up and is not recorded.
 *   node bench/router/load.ts URL RATE DURATION_S [HOST_HEADER] [CONNECTIONS]
 */
import { Agent, request } from 'node:http';

const [url, rateS, durS, host, connS] = process.argv.slice(2);
if (!url || !rateS || !durS) { console.error('usage: load.ts URL RATE DURATION_S [HOST] [CONNECTIONS]'); process.exit(2); }
const u = new URL(url);
const rate = Number(rateS);
const duration = Number(durS) * 1000 + 1000;
const agent = new Agent({ keepAlive: true, maxSockets: Number(connS ?? 64) });
const lat: number[] = [];
let errors = 0;
let non2xx = 0;
let inflight = 0;
const t0 = performance.now();
let sent = 0;

const WARMUP = 1000;
function fire(scheduled: number): void {
  const record = scheduled - t0 >= WARMUP;
  inflight++;
  const req = request({ host: u.hostname, port: u.port, path: u.pathname + u.search, agent, headers: host ? { host } : {} }, res => {
    res.resume();
    res.on('end', () => {
      inflight--;
      if (!record) return;
      if (res.statusCode! < 200 || res.statusCode! >= 300) non2xx++;
      lat.push(performance.now() - scheduled);
    });
  });
  req.on('error', () => { inflight--; if (record) errors++; });
  req.end();
}

await new Promise<void>(resolve => {
  const tick = () => {
    const now = performance.now();
    const due = Math.min(Math.floor(((now - t0) / 1000) * rate), Math.floor((duration / 1000) * rate));
    while (sent < due) { fire(t0 + (sent * 1000) / rate); sent++; }
    if (now - t0 >= duration) return resolve();
    setTimeout(tick, 1); // not setImmediate: a spinning generator would steal the CPU the targets need
  };
  tick();
});
const end = performance.now() + 5000;
while (inflight > 0 && performance.now() < end) await new Promise(r => setTimeout(r, 10));
lat.sort((a, b) => a - b);
const pct = (p: number) => +(lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))] ?? NaN).toFixed(3);
console.log(JSON.stringify({ target: url, host: host ?? '', rate, sent, completed: lat.length, errors, non2xx, achieved_rps: +(lat.length / ((duration - WARMUP) / 1000)).toFixed(0), p50_ms: pct(50), p90_ms: pct(90), p99_ms: pct(99), max_ms: +(lat.at(-1) ?? NaN).toFixed(3) }));
agent.destroy();
