"""The official Go client's lock and semaphore protocols (api/lock.go, api/semaphore.go), step for step,
driven through Debian's python3-consul (0.7.1), whose JSON keeps 64-bit integers exact.

The Go helpers mark their keys with magic flag values past 2^53 and refuse a key whose Flags differ
(ErrLockConflict, ErrSemaphoreConflict): a server that rounds Flags breaks every call.
Usage: /usr/bin/python3 goclient_locks.py PORT SCENARIO. Prints one JSON line; exits 1 on failure.
"""
import json
import sys
import time

import consul

LOCK_FLAG = 0x2ddccbc058a50c18        # api.LockFlagValue = 3304740253564472344
SEMAPHORE_FLAG = 0xe0f69a2baa414de0   # api.SemaphoreFlagValue = 16210313421097356768

port, scenario = int(sys.argv[1]), sys.argv[2]
c = consul.Consul(host='127.0.0.1', port=port)
out = {}


def check(cond, msg):
    if not cond:
        print(json.dumps({'error': msg, **out}))
        sys.exit(1)


def session(name):
    # lock.go createSession: Name, TTL 15s, default behavior (release)
    return c.session.create(name=name, ttl=15)


def lock_acquire(key, sid, wait=None):
    """lock.go Lock(): read the key, refuse a foreign key (flags), then acquire with the flag; try once with `wait`."""
    idx, pair = c.kv.get(key)
    if pair is not None:
        check(pair['Flags'] == LOCK_FLAG, 'ErrLockConflict: Flags %r != %r' % (pair['Flags'], LOCK_FLAG))
        if pair.get('Session') == sid:
            return True  # reclaim: we already hold it
        if pair.get('Session'):
            if wait is None:
                return False
            c.kv.get(key, index=idx, wait=wait)  # one-shot: wait once for a change, then give up
    return c.kv.put(key, 'held', acquire=sid, flags=LOCK_FLAG) is True


def lock_destroy(key):
    """lock.go Destroy(): the key must carry the lock flag and no session; deleted with CAS."""
    idx, pair = c.kv.get(key)
    if pair is None:
        return 'gone'
    if pair['Flags'] != LOCK_FLAG:
        return 'conflict'
    if pair.get('Session'):
        return 'in-use'
    ok = c.kv.delete(key, cas=pair['ModifyIndex'])
    return 'deleted' if ok else 'cas-failed'


if scenario == 'lock':
    key = 'service/goclient/leader'
    s1, s2 = session('Consul API Lock'), session('Consul API Lock')
    check(lock_acquire(key, s1), 's1 acquires')
    idx, pair = c.kv.get(key)
    out['flags'] = pair['Flags']
    check(pair['Flags'] == LOCK_FLAG, 'Flags round trip exactly: %r' % pair['Flags'])
    check(not lock_acquire(key, s2), 'contention: s2 does not get a held lock')
    t0 = time.time()
    check(not lock_acquire(key, s2, wait='1s'), 'one-shot: s2 gives up')
    out['oneshot_s'] = round(time.time() - t0, 2)
    check(out['oneshot_s'] >= 0.9, 'one-shot waited its wait time')
    check(lock_acquire(key, s1), 'reclaim: s1 holds it already')
    check(lock_destroy(key) == 'in-use', 'destroy refused while held')
    check(c.kv.put(key, 'held', release=s1, flags=LOCK_FLAG) is True, 'unlock')
    check(lock_acquire(key, s2), 's2 acquires after unlock')
    check(c.kv.put(key, 'held', release=s2, flags=LOCK_FLAG) is True, 's2 unlocks')
    check(lock_destroy(key) == 'deleted', 'destroy deletes the free lock key')
elif scenario == 'lock-conflict':
    c.kv.put('service/goclient/plain', 'x', flags=3)
    idx, pair = c.kv.get('service/goclient/plain')
    out['flags'] = pair['Flags']
    check(pair['Flags'] != LOCK_FLAG, 'a foreign key is told apart')
elif scenario == 'semaphore':
    prefix, limit = 'service/goclient/sem/', 2
    holders = []
    for n in range(3):
        sid = session('Consul API Semaphore')
        # semaphore.go Acquire: the contender key <prefix><session>, acquired with the semaphore flag
        check(c.kv.put(prefix + sid, '', acquire=sid, flags=SEMAPHORE_FLAG) is True, 'contender %d' % n)
        idx, pairs = c.kv.get(prefix, recurse=True)
        for p in pairs:
            check(p['Flags'] == SEMAPHORE_FLAG, 'ErrSemaphoreConflict: %s Flags %r' % (p['Key'], p['Flags']))
        lock = next((p for p in pairs if p['Key'] == prefix + '.lock'), None)
        state = json.loads(lock['Value']) if lock else {'Limit': limit, 'Holders': {}}
        check(state['Limit'] == limit, 'limit')
        if len(state['Holders']) >= limit:
            holders.append(None)
            continue
        state['Holders'][sid] = True
        cas = lock['ModifyIndex'] if lock else 0
        ok = c.kv.put(prefix + '.lock', json.dumps(state), cas=cas, flags=SEMAPHORE_FLAG)
        holders.append(sid if ok else None)
    out['holders'] = len([h for h in holders if h])
    check(out['holders'] == limit, 'exactly %d holders, got %r' % (limit, holders))
    idx, lock = c.kv.get(prefix + '.lock')
    check(lock['Flags'] == SEMAPHORE_FLAG, 'semaphore lock Flags exact: %r' % lock['Flags'])
else:
    check(False, 'unknown scenario ' + scenario)
print(json.dumps({'ok': True, **out}))
