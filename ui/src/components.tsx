/** Small shared pieces: status badges, tags, meta tables, check lists, links. */
import type { ComponentChildren } from 'preact';
import { useRef } from 'preact/hooks';

export type Status = 'passing' | 'warning' | 'critical';

export interface Check {
  Node: string; CheckID: string; Name: string; Status: Status; Notes: string; Output: string;
  ServiceID: string; ServiceName: string; Type: string; ModifyIndex: number;
}

export function Badge({ status, children }: { status: string; children?: ComponentChildren }) {
  return <span class={`badge ${status}`} data-status={status}>{children ?? status}</span>;
}

/** Worst status of a set of checks (no checks: passing), as Consul aggregates them. */
export function worst(checks: readonly { Status: string }[]): Status {
  let s: Status = 'passing';
  for (const c of checks) {
    if (c.Status === 'critical') return 'critical';
    if (c.Status === 'warning') s = 'warning';
  }
  return s;
}

export function Tags({ tags }: { tags: readonly string[] | null | undefined }) {
  if (!tags?.length) return <span class="muted">—</span>;
  return <span class="tags">{tags.map(t => <span class="tag" key={t}>{t}</span>)}</span>;
}

export function MetaTable({ meta }: { meta: Record<string, string> | null | undefined }) {
  const e = Object.entries(meta ?? {});
  if (!e.length) return <span class="muted">no meta</span>;
  return <dl class="meta">{e.map(([k, v]) => [<dt key={`k${k}`}>{k}</dt>, <dd key={`v${k}`}>{v}</dd>])}</dl>;
}

/**
 * When the UI saw each check's status change. Consul's HealthCheck has no timestamp, so "last change" is
 * the check's ModifyIndex plus the time this page observed a new status (since it was opened).
 */
function useChangeTimes(checks: readonly Check[]): Map<string, number> {
  const seen = useRef(new Map<string, { status: string; at: number }>());
  const out = new Map<string, number>();
  for (const c of checks) {
    const k = `${c.Node}/${c.CheckID}`;
    const prev = seen.current.get(k);
    if (!prev) seen.current.set(k, { status: c.Status, at: 0 });
    else if (prev.status !== c.Status) seen.current.set(k, { status: c.Status, at: Date.now() });
    out.set(k, seen.current.get(k)!.at);
  }
  return out;
}

export function Checks({ checks }: { checks: readonly Check[] }) {
  const changed = useChangeTimes(checks);
  if (!checks.length) return <p class="muted">No checks.</p>;
  return (
    <table class="checks">
      <thead><tr><th>Check</th><th>Status</th><th>Type</th><th>Output</th><th>Last change</th></tr></thead>
      <tbody>
        {checks.map(c => {
          const at = changed.get(`${c.Node}/${c.CheckID}`) ?? 0;
          return (
            <tr key={c.CheckID} class={`check ${c.Status}`} data-check-id={c.CheckID} data-status={c.Status}>
              <td><strong>{c.Name || c.CheckID}</strong><div class="muted small">{c.CheckID}{c.ServiceID ? '' : ' · node check'}</div>{c.Notes && <div class="small">{c.Notes}</div>}</td>
              <td><Badge status={c.Status} /></td>
              <td>{c.Type || '—'}</td>
              <td><pre class="output">{c.Output || ''}</pre></td>
              <td class="small">index {c.ModifyIndex}{at ? <div>seen {new Date(at).toLocaleTimeString()}</div> : null}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

export function Loading({ what }: { what: string }) {
  return <p class="muted loading">Loading {what}…</p>;
}

export function ErrorLine({ error }: { error: string }) {
  return error ? <p class="error" role="alert">{error}</p> : null;
}
