/**
 * What the hand-written parts cost (README "Library choices"): the go-bexpr filter (compile once,
 * evaluate per entry), Go-compatible LZW on a gossip-sized payload, and the Consul flag parser on
 * an agent command line. Prints µs per operation (median of 7 rounds).
 *
 *   node bench/api/hand-written.ts
 */
import { compileFilter } from '../../src/filter/bexpr.ts';
import { lzwCompress, lzwDecompress } from '../../src/gossip/lzw.ts';
import { parseFlags } from '../../src/cli/flags.ts';
import { AGENT_FLAGS } from '../../src/config/load.ts';

function time(n: number, fn: () => unknown): number {
  const rounds: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn();
    rounds.push(Number(process.hrtime.bigint() - t) / n / 1000);
  }
  return rounds.sort((a, b) => a - b)[3]!;
}

const expr = 'Service.Meta.env == "prod" and "v2" in Service.Tags and Checks.Status != critical';
const entry = { Node: { Node: 'n1', Meta: { rack: 'r1' } }, Service: { Service: 'web', Tags: ['v1', 'v2'], Meta: { env: 'prod' }, Port: 80 }, Checks: [{ Status: 'passing' }, { Status: 'passing' }] };
const f = compileFilter(expr);
const payload = new TextEncoder().encode(JSON.stringify(Array.from({ length: 12 }, (_, i) => ({ Name: `node-${i}`, Addr: `10.0.0.${i}`, Port: 8301, Tags: { role: 'node', dc: 'dc1', vsn: '2' } }))));
const packed = lzwCompress(payload);
const argv = ['-dev', '-node', 'n1', '-http-port', '8500', '-dns-port', '8600', '-retry-join', '10.0.0.1', '-retry-join', '10.0.0.2', '-data-dir=/tmp/x', '-redis', 'redis://127.0.0.1:6379'];

console.log('| operation | µs/op |');
console.log('|---|---|');
console.log(`| bexpr: compile \`${expr}\` | ${time(20_000, () => compileFilter(expr)).toFixed(2)} |`);
console.log(`| bexpr: evaluate it on one service entry | ${time(200_000, () => f(entry)).toFixed(3)} |`);
console.log(`| LZW (Go compress/lzw, LSB, 8): compress ${payload.length} B → ${packed.length} B | ${time(5_000, () => lzwCompress(payload)).toFixed(1)} |`);
console.log(`| LZW: decompress it | ${time(5_000, () => lzwDecompress(packed)).toFixed(1)} |`);
console.log(`| flags: parse a ${argv.length}-argument agent command line | ${time(50_000, () => parseFlags(argv, AGENT_FLAGS)).toFixed(2)} |`);
