import test from 'ava';
import { compileRouteOptions, hostname, parseRoute } from '../../src/router/route.ts';

const opts = compileRouteOptions({ domain: 'consul', suffixes: ['internal', '.svc.example.com.'] });

const cases: [string | undefined, string, ReturnType<typeof parseRoute>][] = [
  ['web.service.consul', '/x?y=1', { service: 'web', path: '/x?y=1', by: 'host' }],
  ['WEB.Service.Consul:8080', '/', { service: 'web', path: '/', by: 'host' }],
  ['v1.web.service.consul', '/a', { service: 'web', tag: 'v1', path: '/a', by: 'host' }],
  ['web.service.consul.', '/a', { service: 'web', path: '/a', by: 'host' }],
  ['api.internal', '/p', { service: 'api', path: '/p', by: 'host' }],
  ['blue.api.svc.example.com', '/p', { service: 'api', tag: 'blue', path: '/p', by: 'host' }],
  ['localhost:8080', '/web/rest/x?q=1', { service: 'web', path: '/rest/x?q=1', by: 'path' }],
  ['localhost', '/web', { service: 'web', path: '/', by: 'path' }],
  ['localhost', '/web?x=1', { service: 'web', path: '/?x=1', by: 'path' }],
  ['localhost', '/v2.web/', { service: 'web', tag: 'v2', path: '/', by: 'path' }],
  [undefined, '/web/a', { service: 'web', path: '/a', by: 'path' }],
  ['a.b.c.service.consul', '/web/a', { service: 'web', path: '/a', by: 'path' }],
  ['localhost', '/', null],
  ['localhost', '/bad name/x', null],
  ['localhost', '*', null],
  ['other.example.com', '/%zz/x', null],
];

for (const [host, url, want] of cases) {
  test(`route: ${host ?? '(no host)'} ${url} → ${want ? `${want.tag ? `${want.tag}.` : ''}${want.service} ${want.path}` : 'no route'}`, t => {
    t.deepEqual(parseRoute(host, url, opts), want);
  });
}

test('route: path routing can be turned off', t => {
  t.is(parseRoute('localhost', '/web/x', compileRouteOptions({ pathRouting: false })), null);
});

test('route: custom domain', t => {
  t.deepEqual(parseRoute('web.service.corp', '/', compileRouteOptions({ domain: 'corp.' })), { service: 'web', path: '/', by: 'host' });
});

test('route: hostname strips ports and keeps IPv6 brackets', t => {
  t.is(hostname('[::1]:8080'), '[::1]');
  t.is(hostname('Example.COM:80'), 'example.com');
  t.is(hostname(undefined), '');
});
