"""python-consul 0.7.1 with ACL tokens (sent as ?token=): prints one JSON line of outcomes."""
import json
import os
import sys

import consul

port, token = int(sys.argv[1]), sys.argv[2]
out = {}
c = consul.Consul(port=port, token=token)
out['put_ok'] = c.kv.put('py/a', 'one')
try:
    c.kv.put('other/a', 'x')
    out['put_other'] = 'allowed'
except consul.ACLPermissionDenied:
    out['put_other'] = 'denied'
idx, v = c.kv.get('py/a')
out['get'] = v['Value'].decode() if v else None
try:
    c.kv.get('other/a')
    out['get_other'] = 'allowed'
except consul.ACLPermissionDenied:
    out['get_other'] = 'denied'
out['services'] = sorted(c.catalog.services()[1].keys())
# python-consul 0.7.1's session.create sends no token at all (Patroni moves it into a header):
# the request runs as the anonymous token and is refused under default deny.
try:
    c.session.create(name='py', ttl=30)
    out['session_create'] = 'allowed'
except consul.ACLPermissionDenied:
    out['session_create'] = 'denied'
out['sessions'] = len(c.session.list()[1])
# CONSUL_HTTP_TOKEN overrides the constructor argument (python-consul reads it first)
os.environ['CONSUL_HTTP_TOKEN'] = 'not-a-token'
bad = consul.Consul(port=port, token=token)
try:
    bad.kv.get('py/a')
    out['env_token'] = 'used constructor token'
except consul.ACLPermissionDenied:
    out['env_token'] = 'env wins'
print(json.dumps(out))
