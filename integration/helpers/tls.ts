/**
 * Test helper: a throw-away PKI for TLS Redis topologies (openssl): a CA, a server certificate
 * (SAN IP:127.0.0.1 and localhost, used by every redis-server / redis-sentinel of a topology, also
 * as their client certificate towards each other) and a client certificate for Roster, in `dir`.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestPki {
  dir: string;
  /** CA, client certificate and key file paths (Roster's `redis_tls_*_file`). */
  ca: string; cert: string; key: string;
  /** The same as ioredis `tls` options, for the tests' own connections. */
  tls: { ca: Buffer; cert: Buffer; key: Buffer };
  /** Roster's config lines for these files (`-hcl`). */
  hcl: string;
  /** `roster worker` flags for these files. */
  workerFlags: string[];
  /** redis-cli's TLS flags. */
  cliFlags: string[];
}

export function makePki(dir: string): TestPki {
  const sh = (cmd: string) => execFileSync('sh', ['-c', cmd], { cwd: dir, stdio: 'ignore' });
  sh('openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=roster-test-ca');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  for (const who of ['server', 'client']) {
    sh(`openssl req -newkey rsa:2048 -nodes -keyout ${who}.key -out ${who}.csr -subj /CN=${who}`);
    sh(`openssl x509 -req -in ${who}.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out ${who}.crt -days 2 -extfile san.ext`);
  }
  const [ca, cert, key] = ['ca.crt', 'client.crt', 'client.key'].map(f => join(dir, f)) as [string, string, string];
  return {
    dir, ca, cert, key,
    tls: { ca: readFileSync(ca), cert: readFileSync(cert), key: readFileSync(key) },
    hcl: `redis_tls_ca_file = "${ca}"\nredis_tls_cert_file = "${cert}"\nredis_tls_key_file = "${key}"`,
    workerFlags: ['-redis-tls-ca-file', ca, '-redis-tls-cert-file', cert, '-redis-tls-key-file', key],
    cliFlags: ['--tls', '--cacert', ca, '--cert', cert, '--key', key],
  };
}
