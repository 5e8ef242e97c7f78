/**
 * Key/Value: browse folders (?keys&separator=/), view a value, create, edit, delete. Every write is
 * check-and-set: an edit saves with ?cas=<the ModifyIndex it started from>, a create with ?cas=0, a delete
 * with ?cas=<index shown>; when the key changed meanwhile the agent answers false, nothing is overwritten,
 * and the page shows the conflict.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, decodeValue, encPath, markRendered, useBlocking } from '../api.ts';
import { ErrorLine, Loading } from '../components.tsx';

interface KvEntry { Key: string; Value: string | null; Flags: number; Session?: string; LockIndex: number; CreateIndex: number; ModifyIndex: number }

const parentOf = (key: string) => { const t = key.endsWith('/') ? key.slice(0, -1) : key; const i = t.lastIndexOf('/'); return i < 0 ? '' : t.slice(0, i + 1); };

function Crumbs({ path }: { path: string }) {
  const parts = path.split('/').filter(Boolean);
  const out = [<a key="root" href="#/kv/">Key/Value</a>];
  let acc = '';
  parts.forEach((p, i) => {
    const last = i === parts.length - 1 && !path.endsWith('/');
    acc += p + (last ? '' : '/');
    out.push(<span key={`s${i}`}> / </span>, last ? <span key={i}>{p}</span> : <a key={i} href={`#/kv/${encPath(acc)}`}>{p}</a>);
  });
  return <p class="crumbs">{out}</p>;
}

/** PUT/DELETE with ?cas=: true when applied, false when the index no longer matched. */
async function casWrite(method: string, key: string, cas: number, value?: string): Promise<boolean> {
  const res = await api(method, `/v1/kv/${encPath(key)}?cas=${cas}`, value);
  return (await res.text()).trim() === 'true';
}

export function KvFolder({ prefix }: { prefix: string }) {
  const { data, missing, error } = useBlocking<string[]>(`/v1/kv/${encPath(prefix)}?keys&separator=/`);
  const [name, setName] = useState('');
  const [value, setValue] = useState('');
  const [msg, setMsg] = useState('');
  useEffect(() => { if (data || missing) markRendered(); }, [data, missing]);
  const create = async (e: Event) => {
    e.preventDefault();
    const key = prefix + name.trim();
    if (!name.trim()) return;
    try {
      if (await casWrite('PUT', key, 0, key.endsWith('/') ? '' : value)) {
        setName(''); setValue(''); setMsg('');
        location.hash = `#/kv/${encPath(key)}`;
      } else setMsg(`${key} already exists: not overwritten.`);
    } catch (err) { setMsg((err as Error).message); }
  };
  const keys = (data ?? []).filter(k => k !== prefix);
  return (
    <section>
      <Crumbs path={prefix} />
      <h1>Key/Value</h1>
      <ErrorLine error={error} />
      {!data && !missing ? <Loading what="keys" /> : keys.length === 0 ? <p class="muted">No keys under {prefix || 'the root'}.</p> : (
        <ul class="kv-list">
          {keys.map(k => {
            const label = k.slice(prefix.length);
            return <li key={k} class={k.endsWith('/') ? 'folder' : 'key'}><a href={`#/kv/${encPath(k)}`} data-key={k}>{label}</a></li>;
          })}
        </ul>
      )}
      <form class="card" onSubmit={create}>
        <h2>Create</h2>
        <label>Key or folder (end with /) <span class="muted">under {prefix || '/'}</span>
          <input aria-label="New key" value={name} onInput={e => setName(e.currentTarget.value)} required /></label>
        {!name.endsWith('/') && <label>Value<textarea aria-label="New value" rows={4} value={value} onInput={e => setValue(e.currentTarget.value)} /></label>}
        <button type="submit">Create</button>
        <ErrorLine error={msg} />
      </form>
    </section>
  );
}

export function KvKey({ keyName }: { keyName: string }) {
  const { data, missing, error } = useBlocking<KvEntry[]>(`/v1/kv/${encPath(keyName)}`);
  const cur = data?.[0];
  const [draft, setDraft] = useState<{ value: string; index: number } | null>(null);
  const [conflict, setConflict] = useState<{ mine: number } | null>(null);
  const [msg, setMsg] = useState('');
  const [confirmDelete, setConfirmDelete] = useState(false);
  useEffect(() => { setDraft(null); setConflict(null); setMsg(''); setConfirmDelete(false); }, [keyName]);
  useEffect(() => { if (data || missing) markRendered(); }, [data, missing]);
  const text = cur ? decodeValue(cur.Value) : null;

  const save = async () => {
    if (!draft) return;
    try {
      if (await casWrite('PUT', keyName, draft.index, draft.value)) { setDraft(null); setConflict(null); setMsg('Saved.'); }
      else { setConflict({ mine: draft.index }); setMsg(''); }
    } catch (err) { setMsg((err as Error).message); }
  };
  const remove = async () => {
    if (!cur) return;
    try {
      if (await casWrite('DELETE', keyName, cur.ModifyIndex)) location.hash = `#/kv/${encPath(parentOf(keyName))}`;
      else { setConfirmDelete(false); setMsg('The key changed before the delete: not deleted. Look at the new value and try again.'); }
    } catch (err) { setMsg((err as Error).message); }
  };

  return (
    <section>
      <Crumbs path={keyName} />
      <h1 class="kv-key">{keyName}</h1>
      <ErrorLine error={error} />
      {missing && !draft ? <p class="muted" data-testid="kv-missing">This key does not exist (deleted?).</p> : !cur ? (missing ? null : <Loading what="value" />) : (
        <div class="facts">
          <div><span class="label">ModifyIndex</span> <span data-testid="kv-index">{cur.ModifyIndex}</span></div>
          <div><span class="label">Flags</span> {cur.Flags}</div>
          {cur.Session && <div><span class="label">Lock</span> held by session <code>{cur.Session}</code> (LockIndex {cur.LockIndex})</div>}
        </div>
      )}
      {conflict && (
        <div class="conflict" role="alert" data-testid="kv-conflict">
          <strong>Conflict: not saved.</strong> This key changed since you started editing (you started from index {conflict.mine}
          {cur ? `, it is now at ${cur.ModifyIndex}` : ', it has been deleted'}). Your text is still in the editor.
          {cur && <><div class="small muted">Their value:</div><pre class="value" data-testid="kv-theirs">{text ?? cur.Value}</pre></>}
          <div class="row">
            <button type="button" onClick={() => { setDraft(null); setConflict(null); }}>Discard mine, show theirs</button>
            {cur && <button type="button" class="danger" onClick={() => { setDraft(d => d && { ...d, index: cur.ModifyIndex }); setConflict(null); }}>Edit on top of theirs</button>}
          </div>
        </div>
      )}
      {draft ? (
        <div class="card">
          <textarea aria-label="Value" rows={10} value={draft.value} onInput={e => { const v = e.currentTarget.value; setDraft(d => d && { ...d, value: v }); }} />
          <div class="row"><button type="button" onClick={save}>Save</button> <button type="button" class="secondary" onClick={() => { setDraft(null); setConflict(null); }}>Cancel</button></div>
        </div>
      ) : cur && (
        <div class="card">
          {text === null ? <p class="muted">Binary value ({atob(cur.Value ?? '').length} bytes, base64 below); not editable here.</p> : null}
          <pre class="value" data-testid="kv-value">{text ?? cur.Value}</pre>
          <div class="row">
            {text !== null && <button type="button" onClick={() => { setDraft({ value: text, index: cur.ModifyIndex }); setMsg(''); }}>Edit</button>}
            {confirmDelete
              ? <><button type="button" class="danger" onClick={remove}>Really delete</button> <button type="button" class="secondary" onClick={() => setConfirmDelete(false)}>Keep</button></>
              : <button type="button" class="danger" onClick={() => setConfirmDelete(true)}>Delete</button>}
          </div>
        </div>
      )}
      {msg && <p class={msg === 'Saved.' ? 'ok' : 'error'} role="status">{msg}</p>}
    </section>
  );
}
