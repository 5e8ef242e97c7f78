/** Sessions and the locks they hold (KV keys whose Session is set); a session can be invalidated. */
import { useEffect, useState } from 'preact/hooks';
import { api, encPath, markRendered, useBlocking } from '../api.ts';
import { ErrorLine, Loading } from '../components.tsx';

interface Session { ID: string; Name: string; Node: string; Behavior: string; TTL: string; LockDelay: number; NodeChecks?: string[]; ServiceChecks?: { ID: string }[] | null; CreateIndex: number }
interface KvEntry { Key: string; Session?: string; LockIndex: number }

export function Sessions() {
  const { data, error } = useBlocking<Session[]>('/v1/session/list');
  const kv = useBlocking<KvEntry[]>('/v1/kv/?recurse');
  const [msg, setMsg] = useState('');
  useEffect(() => { if (data) markRendered(); }, [data]);
  const locks = new Map<string, KvEntry[]>();
  for (const e of kv.data ?? []) if (e.Session) locks.set(e.Session, [...(locks.get(e.Session) ?? []), e]);
  const destroy = async (id: string) => {
    try { await api('PUT', `/v1/session/destroy/${encodeURIComponent(id)}`); setMsg(''); } catch (err) { setMsg((err as Error).message); }
  };
  if (!data) return <>{error ? <ErrorLine error={error} /> : <Loading what="sessions" />}</>;
  return (
    <section>
      <h1>Sessions <span class="count">{data.length}</span></h1>
      <ErrorLine error={error || msg} />
      {data.length === 0 ? <p class="muted">No sessions.</p> : (
        <table class="list sessions">
          <thead><tr><th>Session</th><th>Node</th><th>Behavior</th><th>TTL</th><th>Lock delay</th><th>Checks</th><th>Locks held</th><th /></tr></thead>
          <tbody>
            {data.map(s => {
              const held = locks.get(s.ID) ?? [];
              return (
                <tr key={s.ID} data-session={s.ID}>
                  <td><strong>{s.Name || '(unnamed)'}</strong><div class="muted small"><code>{s.ID}</code></div></td>
                  <td><a href={`#/nodes/${encPath(s.Node)}`}>{s.Node}</a></td>
                  <td>{s.Behavior}</td>
                  <td>{s.TTL || '—'}</td>
                  <td>{s.LockDelay ? `${s.LockDelay / 1e9}s` : '0s'}</td>
                  <td class="small">{[...(s.NodeChecks ?? []), ...(s.ServiceChecks ?? []).map(c => c.ID)].join(', ') || '—'}</td>
                  <td>{held.length ? held.map(e => <div key={e.Key}><a href={`#/kv/${encPath(e.Key)}`} data-lock={e.Key}>{e.Key}</a></div>) : <span class="muted">none</span>}</td>
                  <td><button type="button" class="danger small" onClick={() => destroy(s.ID)}>Invalidate</button></td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
