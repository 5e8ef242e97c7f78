import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { columns, encPath, httpBase, httpToken } from '../../src/cli/http.ts';

const bases: [string | undefined, Record<string, string>, string][] = [
  [undefined, {}, 'http://127.0.0.1:8500'],
  [undefined, { CONSUL_HTTP_ADDR: '10.0.0.1:8500' }, 'http://10.0.0.1:8500'],
  [undefined, { ROSTER_HTTP_ADDR: 'r:1', CONSUL_HTTP_ADDR: 'c:2' }, 'http://r:1'],
  ['f:3', { ROSTER_HTTP_ADDR: 'r:1' }, 'http://f:3'],
  ['https://secure:8501/', {}, 'https://secure:8501'],
  [undefined, { CONSUL_HTTP_ADDR: 'c:2', CONSUL_HTTP_SSL: 'true' }, 'https://c:2'],
];
for (const [flag, env, want] of bases) {
  test(`cli http: address ${flag ?? '-'} ${JSON.stringify(env)} → ${want}`, t => { t.is(httpBase(flag, env), want); });
}

test('cli http: path parameters keep slashes and encode the rest', t => {
  t.is(encPath('a/b c/%'), 'a/b%20c/%25');
});

test('cli http: columns are aligned with two spaces, last column unpadded', t => {
  t.is(columns([['Node', 'Address'], ['a-long-name', '1.2.3.4:8301']]), 'Node         Address\na-long-name  1.2.3.4:8301\n');
});

test('cli http: the token comes from -token, -token-file, $CONSUL_HTTP_TOKEN, then $CONSUL_HTTP_TOKEN_FILE', t => {
  const f = join(mkdtempSync(join(tmpdir(), 'roster-token-')), 'tok');
  writeFileSync(f, 'from-file\n', { mode: 0o600 });
  t.is(httpToken({ token: 'flag', 'token-file': f }, { CONSUL_HTTP_TOKEN: 'env' }), 'flag');
  t.is(httpToken({ 'token-file': f }, { CONSUL_HTTP_TOKEN: 'env' }), 'from-file');
  t.is(httpToken({}, { CONSUL_HTTP_TOKEN: 'env', CONSUL_HTTP_TOKEN_FILE: f }), 'env');
  t.is(httpToken({}, { CONSUL_HTTP_TOKEN_FILE: f }), 'from-file');
  t.is(httpToken({}, {}), '');
  t.throws(() => httpToken({ 'token-file': join(f, 'missing') }, {}), { message: /^Error loading token file: ENOTDIR$/ });
});
