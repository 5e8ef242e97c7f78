"""Drives Debian's python3-consul (0.7.1) against a Roster agent; one scenario per argv[2].

Usage: /usr/bin/python3 python_client.py PORT SCENARIO. Prints one JSON line of results; exits 1 on failure.
"""
import json
import sys
import threading
import time

import consul

port, scenario = int(sys.argv[1]), sys.argv[2]
c = consul.Consul(host='127.0.0.1', port=port)
out = {}


def check(cond, msg):
    if not cond:
        print(json.dumps({'error': msg, **out}))
        sys.exit(1)


if scenario == 'register':
    ok = c.agent.service.register('py-web', service_id='py-web-1', address='10.9.0.1', port=8080, tags=['py'],
                                  check=consul.Check.ttl('30s'), enable_tag_override=True)
    check(ok is True, 'register returned %r' % ok)
    ok = c.agent.service.register('py-web', service_id='py-web-2', port=8081, check=consul.Check.http('http://127.0.0.1:1/', '10s'))
    check(ok is True, 'second register')
    services = c.agent.services()
    check('py-web-1' in services and services['py-web-1']['Tags'] == ['py'], 'agent services %r' % services)
    check(c.agent.check.ttl_pass('service:py-web-1', 'all good') is True, 'ttl_pass')
    idx, nodes = c.health.service('py-web', passing=True)
    out['passing'] = [n['Service']['ID'] for n in nodes]
    check(out['passing'] == ['py-web-1'], 'passing %r' % out['passing'])
    idx, nodes = c.health.service('py-web')
    out['all'] = sorted(n['Service']['ID'] for n in nodes)
    idx, svcs = c.catalog.services()
    check('py-web' in svcs, 'catalog services')
    # python-consul deregisters with GET (legacy compat)
    check(c.agent.service.deregister('py-web-1') is True, 'deregister 1')
    check(c.agent.service.deregister('py-web-2') is True, 'deregister 2')
    idx, nodes = c.health.service('py-web')
    check(nodes == [], 'after deregister %r' % nodes)
elif scenario == 'kv':
    check(c.kv.put('pykv/a', 'one') is True, 'put')
    idx, e = c.kv.get('pykv/a')
    check(e['Value'] == b'one' and int(idx) == e['ModifyIndex'], 'get %r %r' % (idx, e))
    check(c.kv.put('pykv/a', 'two', cas=0) is False, 'cas=0 on existing')
    check(c.kv.put('pykv/a', 'two', cas=e['ModifyIndex'] + 999) is False, 'cas wrong')
    check(c.kv.put('pykv/a', 'two', cas=e['ModifyIndex']) is True, 'cas right')
    c.kv.put('pykv/b/c', 'three', flags=5)
    idx, es = c.kv.get('pykv/', recurse=True)
    out['keys'] = [x['Key'] for x in es]
    check(out['keys'] == ['pykv/a', 'pykv/b/c'], 'recurse')
    check(es[1]['Flags'] == 5, 'flags')
    idx, ks = c.kv.get('pykv/', keys=True, separator='/')
    check(ks == ['pykv/a', 'pykv/b/'], 'keys %r' % ks)
    idx, missing = c.kv.get('pykv/none')
    check(missing is None and int(idx) >= 1, 'missing')
    check(c.kv.delete('pykv/', recurse=True) is True, 'delete recurse')
    idx, es = c.kv.get('pykv/', recurse=True)
    check(es is None, 'after delete %r' % es)
elif scenario == 'lock':
    c2 = consul.Consul(host='127.0.0.1', port=port)
    s1 = c.session.create(name='py-1', ttl=10, lock_delay=0)
    s2 = c2.session.create(name='py-2', behavior='delete', lock_delay=0)
    check(c.kv.put('py/lock', 'one', acquire=s1) is True, 's1 acquire')
    check(c2.kv.put('py/lock', 'two', acquire=s2) is False, 's2 contention')
    idx, e = c.kv.get('py/lock')
    check(e['Session'] == s1, 'holder')
    out['renew'] = c.session.renew(s1)['ID']
    check(c.kv.put('py/lock', 'one', release=s1) is True, 'release')
    check(c2.kv.put('py/lock', 'two', acquire=s2) is True, 's2 acquire after release')
    idx, info = c.session.info(s2)
    check(info['Behavior'] == 'delete', 'info')
    idx, lst = c.session.list()
    check({s1, s2} <= {x['ID'] for x in lst}, 'list')
    check(c2.session.destroy(s2) is True, 'destroy')
    idx, e = c.kv.get('py/lock')
    check(e is None, 'delete behaviour removed the key')
    c.session.destroy(s1)
elif scenario == 'watch':
    c.kv.put('py/w', 'v1')
    idx, e = c.kv.get('py/w')
    res = {}

    def waiter():
        t0 = time.time()
        i, x = c.kv.get('py/w', index=idx, wait='5s')
        res['took'] = time.time() - t0
        res['value'] = x['Value'].decode()
        res['index'] = int(i)
    th = threading.Thread(target=waiter)
    th.start()
    time.sleep(0.5)
    c2 = consul.Consul(host='127.0.0.1', port=port)
    c2.kv.put('py/other', 'x')
    time.sleep(0.5)
    check(th.is_alive(), 'woken by an unrelated key')
    c2.kv.put('py/w', 'v2')
    th.join(5)
    check(res.get('value') == 'v2' and res['took'] < 2 and res['index'] > int(idx), 'watch %r' % res)
    t0 = time.time()
    i, x = c.kv.get('py/w', index=res['index'], wait='1s')
    out['timeout'] = round(time.time() - t0, 2)
    check(1.0 <= out['timeout'] < 1.5 and int(i) == res['index'], 'timeout %r' % out)
elif scenario == 'misc':
    me = c.agent.self()['Config']['NodeName']
    members = c.agent.members()
    check(len(members) == 1 and members[0]['Name'] == me and members[0]['Status'] == 1, 'members %r' % members)
    check(c.agent.maintenance(True, 'py') is True, 'maintenance on')
    check(any(k == '_node_maintenance' for k in c.agent.checks()), 'maintenance check')
    check(c.agent.maintenance(False) is True, 'maintenance off')
    ev = c.event.fire('py-ev', body='data')
    idx, evs = c.event.list(name='py-ev')
    check(evs[-1]['ID'] == ev['ID'] and evs[-1]['Payload'] == b'data', 'events %r' % evs)
    idx, nodes = c.catalog.nodes()
    check(any(n['Node'] == me for n in nodes), 'catalog nodes')
    check(c.catalog.datacenters() == ['dc1'], 'datacenters')
    s = c.session.create()
    idx, mine = c.session.node(me)
    check(any(x['ID'] == s for x in mine), 'session.node')
    c.session.destroy(s)
    check(c.status.leader() == '127.0.0.1:8300', 'leader')
    out['peers'] = c.status.peers()
else:
    check(False, 'unknown scenario')
print(json.dumps({'ok': True, **out}))
