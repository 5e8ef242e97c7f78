/** Nodes: address, meta, node checks, services, and the gossip status /v1/agent/members reports. */
import { useEffect } from 'preact/hooks';
import { encPath, markRendered, useBlocking, usePoll } from '../api.ts';
import { Badge, Checks, ErrorLine, Loading, MetaTable, Tags, worst, type Check } from '../components.tsx';

interface NodeInfo {
  ID: string; Node: string; Address: string; Meta: Record<string, string>;
  Services: { ID: string; Service: string; Tags: string[]; Port: number; Address: string }[];
  Checks: Check[];
}
interface Member { Name: string; Addr: string; Port: number; Status: number; Tags: Record<string, string> }

/** serf MemberStatus as Consul prints it. */
const GOSSIP = ['none', 'alive', 'leaving', 'left', 'failed'];

function useMembers(): Map<string, Member> | undefined {
  const members = usePoll<Member[]>('/v1/agent/members', 3000);
  return members && new Map(members.map(m => [m.Name.toLowerCase(), m]));
}

function Gossip({ m }: { m: Member | undefined }) {
  if (!m) return <span class="gossip none" data-gossip="unknown">not a member</span>;
  const s = GOSSIP[m.Status] ?? String(m.Status);
  return <span class={`gossip ${s}`} data-gossip={s}>{s}</span>;
}

export function Nodes() {
  const { data, error } = useBlocking<NodeInfo[]>('/v1/internal/ui/nodes');
  const members = useMembers();
  useEffect(() => { if (data) markRendered(); }, [data]);
  if (!data) return <>{error ? <ErrorLine error={error} /> : <Loading what="nodes" />}</>;
  return (
    <section>
      <h1>Nodes <span class="count">{data.length}</span></h1>
      <ErrorLine error={error} />
      <table class="list nodes">
        <thead><tr><th>Node</th><th>Address</th><th>Gossip</th><th>Node checks</th><th>Services</th><th>Meta</th></tr></thead>
        <tbody>
          {data.map(n => {
            const nodeChecks = n.Checks.filter(c => !c.ServiceID);
            const st = worst(nodeChecks);
            return (
              <tr key={n.Node} data-node={n.Node} data-status={st}>
                <td><span class={`dot ${st}`} /> <a href={`#/nodes/${encPath(n.Node)}`}>{n.Node}</a></td>
                <td><code>{n.Address}</code></td>
                <td>{members ? <Gossip m={members.get(n.Node.toLowerCase())} /> : '…'}</td>
                <td>{nodeChecks.length ? nodeChecks.map(c => <Badge key={c.CheckID} status={c.Status}>{c.Name || c.CheckID}</Badge>) : <span class="muted">none</span>}</td>
                <td>{n.Services.length ? <Tags tags={[...new Set(n.Services.map(s => s.Service))]} /> : <span class="muted">none</span>}</td>
                <td><MetaTable meta={n.Meta} /></td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

export function Node({ name }: { name: string }) {
  const { data, missing, error } = useBlocking<NodeInfo>(`/v1/internal/ui/node/${encPath(name)}`);
  const members = useMembers();
  useEffect(() => { if (data) markRendered(); }, [data]);
  return (
    <section>
      <p class="crumbs"><a href="#/nodes">Nodes</a> /</p>
      <h1>{name}</h1>
      <ErrorLine error={error} />
      {missing ? <p class="muted">No node named {name} in the catalog.</p> : !data ? <Loading what="node" /> : (
        <>
          <div class="facts">
            <div><span class="label">Address</span> <code>{data.Address}</code></div>
            <div><span class="label">ID</span> <code>{data.ID}</code></div>
            <div><span class="label">Gossip</span> {members ? <Gossip m={members.get(name.toLowerCase())} /> : '…'}</div>
          </div>
          <h2>Meta</h2>
          <MetaTable meta={data.Meta} />
          <h2>Services</h2>
          {data.Services.length === 0 ? <p class="muted">No services.</p> : (
            <table class="list">
              <thead><tr><th>Service</th><th>ID</th><th>Address</th><th>Tags</th></tr></thead>
              <tbody>{data.Services.map(s => (
                <tr key={s.ID}><td><a href={`#/services/${encPath(s.Service)}`}>{s.Service}</a></td><td>{s.ID}</td><td><code>{s.Address || data.Address}:{s.Port}</code></td><td><Tags tags={s.Tags} /></td></tr>
              ))}</tbody>
            </table>
          )}
          <h2>Checks</h2>
          <Checks checks={data.Checks} />
        </>
      )}
    </section>
  );
}
