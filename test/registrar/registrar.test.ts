/**
 * Registrar timing against a scripted agent API: a file removed while the first sync is still
 * talking to the agent is noticed at once (the folder is watched before the first sync), not at
 * the next periodic resync.
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registrar } from '../../src/registrar/registrar.ts';
import type { AgentApi } from '../../src/client/api.ts';
import { waitFor } from '../helpers/wait.ts';

test('registrar: a file removed during the first sync is deregistered without waiting for a resync', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'roster-reg-unit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'one.json'), JSON.stringify({ service: { name: 'one', port: 1 } }));
  const services = new Map<string, { ID: string; Meta: Record<string, string> }>();
  let gets = 0;
  let release!: () => void;
  const held = new Promise<void>(r => { release = r; });
  const api = {
    async call(method: string, path: string, o?: { body?: { ID?: string; Name: string; Meta?: Record<string, string> } }) {
      if (method === 'GET' && path === '/v1/agent/services') {
        if (++gets === 1) await held; // the first sync has read the folder and waits on the agent
        return { status: 200, body: Object.fromEntries(services), headers: {} };
      }
      if (path === '/v1/agent/service/register') {
        const b = o!.body!;
        services.set(b.ID ?? b.Name, { ID: b.ID ?? b.Name, Meta: b.Meta ?? {} });
        return { status: 200, body: null, headers: {} };
      }
      services.delete(decodeURIComponent(path.split('/').pop()!));
      return { status: 200, body: null, headers: {} };
    },
  } as unknown as AgentApi;
  const r = new Registrar({ api, dir, debounceMs: 20, resyncMs: 0 });
  const syncs: { registered: string[]; deregister: string[] }[] = [];
  r.on('sync', (x: { registered: string[]; deregister: string[] }) => syncs.push(x));
  t.teardown(() => r.close());
  // Counts calls to sync(): the first from start(), the next from the watcher's (debounced) poke.
  let syncCalls = 0;
  const sync = r.sync.bind(r);
  r.sync = (force?: boolean) => { syncCalls++; return sync(force); };
  const first = r.start();
  await waitFor(() => gets > 0, 5000, { what: 'the first sync to ask the agent for its services' });
  rmSync(join(dir, 'one.json'));
  // The watch event asks for a sync while the first one still waits on the agent.
  await waitFor(() => syncCalls >= 2, 5000, { every: 5, what: 'the watcher to ask for a sync during the first one' });
  t.is(gets, 1, 'the first sync is still waiting on the agent');
  release();
  await first;
  t.deepEqual(syncs[0]?.registered, ['one'], 'the first sync registered what it had read');
  await waitFor(() => !services.has('one'), 5000, { every: 10, what: 'the removed file\'s service to be deregistered' });
  t.false(services.has('one'), 'the removal must trigger another sync (resync is off)');
  t.deepEqual(syncs.at(-1)?.deregister, ['one']);
});
