/**
 * Real resolvers in front of Roster, configured with the README recipes as written (only the
 * port substituted): dnsmasq and unbound on 127.0.0.1 high ports forwarding `consul.` to the
 * DNS fixture.
 */
import test from 'ava';
import { readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startDnsFixture } from './helpers/dns-fixture.ts';
import { dig, answers, status, freePort, start, dnsUp, recipe } from './helpers/dns.ts';

const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

async function checkThrough(t: import('ava').ExecutionContext, port: number): Promise<void> {
  const a = await dig(port, 'web.service.consul');
  t.is(status(a), 'NOERROR');
  t.deepEqual(answers(a).map(l => l.split(' ').pop()).sort(), ['127.0.0.10', '127.0.0.11', '127.0.0.12']);
  const srv = await dig(port, '_web._tcp.service.consul', 'SRV');
  t.is(answers(srv).length, 3);
  t.is(status(await dig(port, 'nope.service.consul')), 'NXDOMAIN');
  t.is(answers(await dig(port, 'web1.node.consul')).length, 1);
}

test('dns resolvers: dnsmasq with the README recipe forwards consul. to Roster', async t => {
  const f = await startDnsFixture();
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'roster-dnsmasq-'));
  const conf = path.join(dir, 'dnsmasq.conf');
  writeFileSync(conf, [recipe(README, 'dnsmasq', f.port), `port=${port}`, 'listen-address=127.0.0.1', 'bind-interfaces', 'no-resolv', 'no-hosts', `pid-file=${dir}/pid`, 'user=root', ''].join('\n'));
  const p = start('/usr/sbin/dnsmasq', ['--keep-in-foreground', `--conf-file=${conf}`]);
  try {
    await dnsUp(port);
    await checkThrough(t, port);
  } finally {
    await p.stop(); await f.close(); rmSync(dir, { recursive: true, force: true });
  }
});

test('dns resolvers: unbound with the README recipe (stub-zone) resolves consul. through Roster', async t => {
  const f = await startDnsFixture();
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'roster-unbound-'));
  writeFileSync(path.join(dir, 'consul.conf'), recipe(README, 'unbound', f.port));
  writeFileSync(path.join(dir, 'unbound.conf'), [
    'server:', `  interface: 127.0.0.1@${port}`, '  port: ' + port, '  username: ""', '  chroot: ""', `  directory: "${dir}"`, `  pidfile: "${dir}/pid"`,
    '  use-syslog: no', '  logfile: ""', '  verbosity: 1', '  do-ip6: no', '  module-config: "iterator"', '  access-control: 127.0.0.0/8 allow',
    `include: "${dir}/consul.conf"`, '',
  ].join('\n'));
  const p = start('/usr/sbin/unbound', ['-d', '-c', path.join(dir, 'unbound.conf')]);
  try {
    await dnsUp(port);
    await checkThrough(t, port);
  } finally {
    await p.stop(); await f.close(); rmSync(dir, { recursive: true, force: true });
  }
});
