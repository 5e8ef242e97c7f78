/**
 * Test helper: the Redis configuration recipes of README.md ("Running past one machine"), read out
 * of the file (the block after `<!-- recipe:NAME -->`) and moved onto loopback: the example hosts
 * 10.0.0.x become 127.0.0.1, ports and directories become the test's, `CHANGE-ME` the test's
 * password; in the TLS recipe `tls-port` becomes the test's port (`port 0`, plaintext off, stays) and
 * `/etc/redis/tls/` the test's PKI directory. Test-only changes are passed as `replace` pairs and `extra` lines, in plain sight.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './agent.ts';

export interface RecipeSubs {
  port: number;
  dir: string;
  password: string;
  /** The primary's port (`10.0.0.1 6379` in `replicaof` / `sentinel monitor` lines). */
  primaryPort?: number;
  replace?: [string, string][];
  /** Where the test's ca.crt, server.crt and server.key are (replaces `/etc/redis/tls/`, `redis.crt`, `redis.key`). */
  tlsDir?: string;
  extra?: string[];
}

export function redisRecipe(name: string, s: RecipeSubs): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const m = new RegExp(`<!-- recipe:${name} -->\\n\`\`\`\\n([\\s\\S]*?)\`\`\``).exec(readme);
  if (!m) throw new Error(`no recipe ${name} in README.md`);
  let conf = m[1]!;
  for (const [a, b] of s.replace ?? []) {
    if (!conf.includes(a)) throw new Error(`recipe ${name} has no "${a}"`);
    conf = conf.replace(a, b);
  }
  conf = conf
    .replace(/^bind 10\.0\.0\.\d+$/m, 'bind 127.0.0.1')
    .replace(/^port [1-9]\d*$/m, `port ${s.port}`)
    .replace(/^tls-port \d+$/m, `tls-port ${s.port}`)
    .replace(/\/etc\/redis\/tls\/redis\.(crt|key)/g, `${s.tlsDir}/server.$1`)
    .replace(/\/etc\/redis\/tls\//g, `${s.tlsDir}/`)
    .replace(/^dir .*$/m, `dir ${s.dir}`)
    .replace(/10\.0\.0\.1 6379/g, `127.0.0.1 ${s.primaryPort ?? 0}`)
    .replace(/nodes-6379\.conf/g, `nodes-${s.port}.conf`)
    .replaceAll('CHANGE-ME', s.password);
  return conf + (s.extra ?? []).join('\n') + '\n';
}
