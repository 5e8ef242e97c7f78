/**
 * The write storm the store and DNS benchmarks share: `count` processes flipping node checks (passing ↔ critical)
 * as fast as Redis takes them, for `seconds`, each through the CatalogStore of ROSTER_SRC. runFlippers() resolves
 * with the writes each made. As a process: node bench/store/check-flipper.ts <redis url> <nodes> <seconds> <seed>
 */
import { fork } from 'node:child_process';
import { join, resolve } from 'node:path';

export function runFlippers(url: string, nodes: number, seconds: number, count = 2): Promise<number[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => new Promise<number>((res, rej) => {
    const p = fork(import.meta.filename, [url, String(nodes), String(seconds), String(i + 1)], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    let out = '';
    p.stdout!.on('data', d => { out += String(d); });
    p.on('exit', code => code === 0 ? res(Number(out)) : rej(new Error(`check flipper exited ${code}`)));
  })));
}

if (import.meta.main) {
  const SRC = resolve(process.env.ROSTER_SRC ?? join(import.meta.dirname, '../../src'));
  const { CatalogStore } = await import(join(SRC, 'store/catalog-store.ts'));
  const { keysFor } = await import(join(SRC, 'store/keys.ts'));
  const { Redis } = await import('ioredis');
  const [url, nodesS, secondsS, seedS] = process.argv.slice(2);
  const w = new CatalogStore(new Redis(url!), keysFor('dc1'));
  const until = Date.now() + Number(secondsS) * 1000;
  let n = Number(seedS);
  let writes = 0;
  while (Date.now() < until) { await w.updateCheck(`n${n % Number(nodesS)}`, 'c', writes % 2 ? 'passing' : 'critical', ''); n += 7; writes++; }
  process.stdout.write(String(writes));
  process.exit(0);
}
