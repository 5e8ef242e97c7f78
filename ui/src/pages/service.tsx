/** One service: its instances (address, port, node, tags, meta) and every check with status and output. */
import { useEffect } from 'preact/hooks';
import { encPath, markRendered, useBlocking } from '../api.ts';
import { Badge, Checks, ErrorLine, Loading, MetaTable, Tags, worst, type Check } from '../components.tsx';

interface Entry {
  Node: { Node: string; Address: string; Meta: Record<string, string> };
  Service: { ID: string; Service: string; Tags: string[]; Address: string; Port: number; Meta: Record<string, string>; Kind?: string };
  Checks: Check[];
}

export function Service({ name }: { name: string }) {
  const { data, error } = useBlocking<Entry[]>(`/v1/health/service/${encPath(name)}`);
  useEffect(() => { if (data) markRendered(); }, [data]);
  return (
    <section>
      <p class="crumbs"><a href="#/services">Services</a> /</p>
      <h1>{name} {data && <span class="count">{data.length} instance{data.length === 1 ? '' : 's'}</span>}</h1>
      <ErrorLine error={error} />
      {!data ? <Loading what="instances" /> : data.length === 0 ? <p class="muted">No instances of {name}.</p> : data.map(e => {
        const st = worst(e.Checks);
        return (
          <article key={`${e.Node.Node}/${e.Service.ID}`} class={`instance ${st}`} data-instance={e.Service.ID} data-status={st}>
            <header>
              <h2><span class={`dot ${st}`} /> {e.Service.ID}</h2>
              <Badge status={st} />
            </header>
            <div class="facts">
              <div><span class="label">Address</span> <code>{e.Service.Address || e.Node.Address}:{e.Service.Port}</code></div>
              <div><span class="label">Node</span> <a href={`#/nodes/${encPath(e.Node.Node)}`}>{e.Node.Node}</a> <span class="muted">({e.Node.Address})</span></div>
              <div><span class="label">Tags</span> <Tags tags={e.Service.Tags} /></div>
            </div>
            <MetaTable meta={e.Service.Meta} />
            <Checks checks={e.Checks} />
          </article>
        );
      })}
    </section>
  );
}
