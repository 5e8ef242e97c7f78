/** Roster's web UI: a hash-routed single page (#/services, #/nodes, #/kv/..., #/sessions) over the agent's HTTP API. */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { apiJson, getToken, setToken, useConn, usePoll } from './api.ts';
import { Services } from './pages/services.tsx';
import { Service } from './pages/service.tsx';
import { Node, Nodes } from './pages/nodes.tsx';
import { KvFolder, KvKey } from './pages/kv.tsx';
import { Sessions } from './pages/sessions.tsx';

function useHash(): string {
  const [h, set] = useState(location.hash);
  useEffect(() => {
    const l = () => set(location.hash);
    addEventListener('hashchange', l);
    return () => removeEventListener('hashchange', l);
  }, []);
  return h;
}

function dec(s: string): string {
  try { return decodeURIComponent(s); } catch { return s; }
}

function Page({ hash }: { hash: string }) {
  const path = hash.replace(/^#\/?/, '');
  const [section = '', ...rest] = path.split('/');
  const arg = rest.map(dec).join('/');
  switch (section) {
    case 'services': return arg ? <Service key={arg} name={arg} /> : <Services />;
    case 'nodes': return arg ? <Node key={arg} name={arg} /> : <Nodes />;
    case 'kv': return arg === '' || arg.endsWith('/') ? <KvFolder key={arg} prefix={arg} /> : <KvKey key={arg} keyName={arg} />;
    case 'sessions': return <Sessions />;
    default: return <Services />;
  }
}

function Banner() {
  const c = useConn();
  const [, tick] = useState(0);
  useEffect(() => {
    if (c.lost === null) return;
    const t = setInterval(() => tick(n => n + 1), 500);
    return () => clearInterval(t);
  }, [c.lost]);
  if (c.lost === null) return null;
  const secs = c.retryAt ? Math.max(0, Math.ceil((c.retryAt - Date.now()) / 1000)) : 0;
  return (
    <div class="banner" role="alert" data-testid="conn-lost">
      Connection to the agent lost {Math.round((Date.now() - c.lost) / 1000)} s ago ({c.error || 'no answer'}).
      {secs > 0 ? ` Retrying in ${secs} s…` : ' Retrying…'} The page recovers by itself.
    </div>
  );
}

/** Eureka's self-preservation (issue 17), as Eureka's dashboard shows it: polled from /v1/agent/self. */
function SelfPreservation() {
  const self = usePoll<{ Stats?: { eureka?: Record<string, string> } }>('/v1/agent/self', 5000);
  const e = self?.Stats?.eureka;
  if (e?.self_preservation !== 'true') return null;
  return (
    <div class="banner" role="alert" data-testid="self-preservation">
      Self-preservation: renewals ({e.renews_last_min}/min) are below the threshold ({e.renews_threshold}/min) for {e.leases} Eureka leases,
      so lapsed leases are not evicted{e.scope === 'all' ? ' and TTL checks do not expire' : ''}. Instances may be shown as up that are not.
    </div>
  );
}

function TokenLogin() {
  useConn(); // re-render when the token changes
  const [open, setOpen] = useState(false);
  const [value, setValue] = useState('');
  const has = getToken() !== '';
  if (!open) return <button type="button" class="secondary small" onClick={() => setOpen(true)} data-testid="token-open">{has ? 'Token set' : 'Log in'}</button>;
  return (
    <form class="token" onSubmit={e => { e.preventDefault(); setToken(value.trim()); setValue(''); setOpen(false); }}>
      <input type="password" autocomplete="off" placeholder="ACL token (SecretID)" aria-label="ACL token" value={value} onInput={e => setValue(e.currentTarget.value)} />
      <button type="submit" class="small">Use token</button>
      {has && <button type="button" class="secondary small" onClick={() => { setToken(''); setOpen(false); }}>Log out</button>}
      <span class="muted small">Kept in this browser only; sent as X-Consul-Token.</span>
    </form>
  );
}

function App() {
  const hash = useHash();
  const [self, setSelf] = useState<{ Config: { Datacenter: string; NodeName: string; Version: string } } | null>(null);
  useEffect(() => { apiJson<typeof self>('GET', '/v1/agent/self').then(setSelf, () => undefined); }, []);
  const section = hash.replace(/^#\/?/, '').split('/')[0] || 'services';
  const link = (s: string, label: string) => <a href={`#/${s}${s === 'kv' ? '/' : ''}`} class={section === s ? 'active' : ''}>{label}</a>;
  return (
    <>
      <header class="top">
        <span class="brand">Roster</span>
        {self && <span class="dc" title={`node ${self.Config.NodeName}, version ${self.Config.Version}`}>{self.Config.Datacenter}</span>}
        <nav>{link('services', 'Services')}{link('nodes', 'Nodes')}{link('kv', 'Key/Value')}{link('sessions', 'Sessions')}</nav>
        <TokenLogin />
      </header>
      <Banner />
      <SelfPreservation />
      <main><Page hash={hash} /></main>
    </>
  );
}

const root = document.getElementById('app')!;
root.textContent = ''; // the boot message (Preact 11 renders beside existing children)
render(<App />, root);
