import test from 'ava';
import { compileFilter, FilterDepthError, MAX_FILTER_DEPTH } from '../../src/filter/bexpr.ts';
import { HttpError, parseJson } from '../../src/http/server.ts';
import { validateMeta } from '../../src/http/decode.ts';
import { clientKey, logLimit, PerClient, refuseCrossSiteWrite } from '../../src/http/limits.ts';

const err = (f: () => unknown): HttpError | undefined => {
  try { f(); } catch (e) { return e as HttpError; }
  return undefined;
};

test('filter: nesting up to the limit compiles; one level more is a FilterDepthError, not a stack overflow', t => {
  const nest = (n: number) => '('.repeat(n) + 'A == "x"' + ')'.repeat(n);
  t.true(compileFilter(nest(MAX_FILTER_DEPTH))({ A: 'x' }));
  t.throws(() => compileFilter(nest(MAX_FILTER_DEPTH + 1)), { instanceOf: FilterDepthError, message: `1:${MAX_FILTER_DEPTH + 1}: expression nested deeper than 256 levels` });
  t.throws(() => compileFilter(nest(10_000)), { instanceOf: FilterDepthError });
  t.throws(() => compileFilter('not '.repeat(10_000) + 'A == "x"'), { instanceOf: FilterDepthError });
  t.true(compileFilter('not '.repeat(256) + 'A == "x"')({ A: 'x' }), 'an even number of nots');
});

test('filter: and/or chains of any length are flat (no stack depth)', t => {
  const or = Array.from({ length: 100_000 }, (_, i) => `A == "${i}"`).join(' or ');
  t.true(compileFilter(or)({ A: '99999' }));
  t.false(compileFilter(or)({ A: 'no' }));
  const and = Array.from({ length: 100_000 }, () => 'A == "x"').join(' and ');
  t.true(compileFilter(and)({ A: 'x' }));
  t.true(compileFilter('A == "1" or B == "2" and C == "3"')({ A: '0', B: '2', C: '3' }), 'and binds tighter than or');
});

const json = (s: string) => parseJson(Buffer.from(s));
for (const [title, body, message] of [
  ['a lone high surrogate in a value', '{"Name":"a\\ud800b"}', 'Request decode failed: invalid string "a\\ud800b": lone UTF-16 surrogate (not valid Unicode)'],
  ['a lone low surrogate in a key', '{"Meta":{"\\udc00":"v"}}', 'Request decode failed: invalid string "\\udc00": lone UTF-16 surrogate (not valid Unicode)'],
  ['nesting past Go\'s 10,000 levels', '['.repeat(10_001) + ']'.repeat(10_001), 'Request decode failed: exceeded max depth'],
  ['bad JSON', '{"a":', 'Request decode failed: Unexpected end of JSON input'],
] as const) {
  test(`parseJson: ${title} → 400`, t => {
    const e = err(() => json(body));
    t.true(e instanceof HttpError);
    t.is(e?.status, 400);
    t.is(e?.message, message);
  });
}

test('parseJson: surrogate pairs, 10,000 levels and an empty body are fine', t => {
  t.deepEqual(json('{"Name":"\\ud83d\\ude00 ok"}'), { Name: '😀 ok' });
  t.true(Array.isArray(json('['.repeat(9_999) + ']'.repeat(9_999))));
  t.is(parseJson(Buffer.alloc(0)), undefined);
});

test('validateMeta: Consul\'s limits and messages', t => {
  const pairs = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']));
  t.is(err(() => validateMeta(pairs(64), 'Invalid Service Meta')), undefined);
  t.is(err(() => validateMeta({ ['k'.repeat(128)]: 'v'.repeat(512), 'a_b-C9': '' }, 'X')), undefined);
  const cases: [Record<string, string>, string][] = [
    [pairs(65), 'Invalid Service Meta: Node metadata cannot contain more than 64 key/value pairs'],
    [{ '': 'v' }, "Invalid Service Meta: Couldn't load metadata pair ('', 'v'): Key cannot be blank"],
    [{ 'a b': 'v' }, "Invalid Service Meta: Couldn't load metadata pair ('a b', 'v'): Key contains invalid characters"],
    [{ ['k'.repeat(129)]: 'v' }, `Invalid Service Meta: Couldn't load metadata pair ('${'k'.repeat(129)}', 'v'): Key is too long (limit: 128 characters)`],
    [{ 'consul-version': 'v' }, "Invalid Service Meta: Couldn't load metadata pair ('consul-version', 'v'): Key prefix 'consul-' is reserved for internal use"],
    [{ k: 'é'.repeat(257) }, `Invalid Service Meta: Couldn't load metadata pair ('k', '${'é'.repeat(257)}'): Value is too long (limit: 512 characters)`],
  ];
  for (const [m, msg] of cases) {
    const e = err(() => validateMeta(m, 'Invalid Service Meta'));
    t.is(e?.status, 400);
    t.is(e?.message, msg);
  }
});

test('PerClient: counts per key, refuses past the limit, 0 = unlimited', t => {
  const p = new PerClient(2);
  t.true(p.enter('a'));
  t.true(p.enter('a'));
  t.false(p.enter('a'));
  t.true(p.enter('b'), 'another client has its own count');
  p.leave('a');
  t.true(p.enter('a'));
  t.is(p.count('a'), 2);
  const u = new PerClient(0);
  for (let i = 0; i < 1000; i++) t.true(u.enter('a'));
  t.is(clientKey('::ffff:127.0.0.1'), '127.0.0.1');
  t.is(clientKey('::1'), '::1');
});

test('logLimit: at most one line per 10 s per kind, then the number suppressed', t => {
  const lines: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((s: string) => { lines.push(s); return true; }) as typeof process.stderr.write;
  try {
    for (let i = 0; i < 5; i++) logLimit('unit-test', 'limit hit', { client: 'c' }, 1_000 + i);
    logLimit('unit-test-other', 'other limit hit', {}, 1_000);
    logLimit('unit-test', 'limit hit', { client: 'c' }, 11_000);
  } finally {
    process.stderr.write = write;
  }
  t.is(lines.length, 3);
  t.regex(lines[0]!, /limit hit client=c\n$/);
  t.regex(lines[1]!, /other limit hit\n$/);
  t.regex(lines[2]!, /limit hit client=c suppressed=4\n$/);
});

test('refuseCrossSiteWrite: browser requests from other sites or origins are refused; API clients pass', t => {
  const host = '127.0.0.1:8500';
  const pass = [{ host }, { host, 'sec-fetch-site': 'same-origin' }, { host, 'sec-fetch-site': 'none' }, { host, origin: 'http://127.0.0.1:8500' }];
  for (const h of pass) t.is(err(() => refuseCrossSiteWrite(h)), undefined, JSON.stringify(h));
  const refuse = [
    { host, 'sec-fetch-site': 'cross-site' }, { host, 'sec-fetch-site': 'same-site' }, { host, origin: 'http://evil.example' },
    { host, origin: 'http://127.0.0.1:3000' }, { host, origin: 'null' }, { host, origin: 'not a url' },
  ];
  for (const h of refuse) {
    const e = err(() => refuseCrossSiteWrite(h));
    t.is(e?.status, 403, JSON.stringify(h));
    t.regex(e?.message ?? '', /^Cross-site write refused: /);
  }
});

test('publicMessage: unexpected errors reach clients without Lua script names or stack-overflow text', async t => {
  const { publicMessage } = await import('../../src/http/server.ts');
  t.is(publicMessage(new Error('ERR user_script:63: Expected value but found invalid unicode escape code at character 53 script: 741431ecaef247f24e9ae673feeb5207ae2dc68f, on @user_script:63.')),
    'catalog store rejected the request: Expected value but found invalid unicode escape code at character 53');
  t.is(publicMessage(new RangeError('Maximum call stack size exceeded')), 'Internal error: request too deeply nested');
  t.is(publicMessage(new Error('Missing node registration')), 'Missing node registration');
});
