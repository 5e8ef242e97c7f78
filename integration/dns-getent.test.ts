/**
 * glibc end to end: `getent ahosts web.service.consul` inside a network namespace this test
 * creates, with a forwarder (dnsmasq, then unbound) on the namespace's 127.0.0.1:53 configured
 * by the README recipe, Roster's DNS fixture on the namespace's 127.0.0.1:8600, and the README's
 * resolv.conf bind-mounted over /etc/resolv.conf in a private mount namespace. The machine's
 * own /etc/resolv.conf and network are untouched.
 */
import test from 'ava';
import { readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { netns, start, dnsUp, recipe, sh } from './helpers/dns.ts';

const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const FIXTURE = new URL('./helpers/dns-fixture.ts', import.meta.url).pathname;

async function getentVia(t: import('ava').ExecutionContext, forwarder: 'dnsmasq' | 'unbound'): Promise<void> {
  const ns = await netns('roster-dns');
  const dir = mkdtempSync(path.join(tmpdir(), `roster-getent-${forwarder}-`));
  const procs: ReturnType<typeof start>[] = [];
  try {
    procs.push(start('ip', ['netns', 'exec', ns.name, process.execPath, FIXTURE, '--port', '8600']));
    await dnsUp(8600, 'web.service.consul', ns.name);
    if (forwarder === 'dnsmasq') {
      writeFileSync(path.join(dir, 'dnsmasq.conf'), [recipe(README, 'dnsmasq', 8600), 'port=53', 'listen-address=127.0.0.1', 'bind-interfaces', 'no-resolv', 'no-hosts', `pid-file=${dir}/pid`, 'user=root', ''].join('\n'));
      procs.push(start('ip', ['netns', 'exec', ns.name, '/usr/sbin/dnsmasq', '--keep-in-foreground', `--conf-file=${dir}/dnsmasq.conf`]));
    } else {
      writeFileSync(path.join(dir, 'consul.conf'), recipe(README, 'unbound', 8600));
      writeFileSync(path.join(dir, 'unbound.conf'), ['server:', '  interface: 127.0.0.1', '  port: 53', '  username: ""', '  chroot: ""', `  directory: "${dir}"`,
        `  pidfile: "${dir}/pid"`, '  use-syslog: no', '  logfile: ""', '  do-ip6: no', '  module-config: "iterator"', `include: "${dir}/consul.conf"`, ''].join('\n'));
      procs.push(start('ip', ['netns', 'exec', ns.name, '/usr/sbin/unbound', '-d', '-c', `${dir}/unbound.conf`]));
    }
    await dnsUp(53, 'web.service.consul', ns.name);
    const resolv = path.join(dir, 'resolv.conf');
    writeFileSync(resolv, recipe(README, 'resolv.conf', 8600));
    const out = await sh('ip', ['netns', 'exec', ns.name, 'unshare', '--mount', 'sh', '-c', `mount --bind ${resolv} /etc/resolv.conf && getent ahosts web.service.consul`]);
    const addrs = [...new Set(out.trim().split('\n').map(l => l.split(/\s+/)[0]))].sort();
    t.deepEqual(addrs, ['127.0.0.10', '127.0.0.11', '127.0.0.12'], out);
    t.regex(out, /STREAM web\.service\.consul/);
    const hosts = await sh('ip', ['netns', 'exec', ns.name, 'unshare', '--mount', 'sh', '-c', `mount --bind ${resolv} /etc/resolv.conf && getent hosts web1.node.consul`]);
    t.regex(hosts, /^127\.0\.0\.10\s+web1\.node\.consul/);
    const miss = await sh('ip', ['netns', 'exec', ns.name, 'unshare', '--mount', 'sh', '-c', `mount --bind ${resolv} /etc/resolv.conf && getent hosts nope.service.consul; echo rc=$?`]);
    t.regex(miss, /rc=2/);
  } finally {
    for (const p of procs.reverse()) await p.stop();
    await ns.del();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('dns getent: glibc resolves web.service.consul through dnsmasq on :53 in a namespace', async t => { await getentVia(t, 'dnsmasq'); });
test('dns getent: glibc resolves web.service.consul through unbound on :53 in a namespace', async t => { await getentVia(t, 'unbound'); });
