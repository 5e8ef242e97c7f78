/** Services: every service with its tags, instance count and check counts; filter by name and tag. */
import { useEffect, useState } from 'preact/hooks';
import { encPath, markRendered, useBlocking } from '../api.ts';
import { Badge, ErrorLine, Loading, Tags, type Status } from '../components.tsx';

export interface ServiceSummary {
  Name: string; Kind?: string; Tags: string[] | null; Nodes: string[]; InstanceCount: number;
  ChecksPassing: number; ChecksWarning: number; ChecksCritical: number;
}

export function serviceStatus(s: ServiceSummary): Status {
  return s.ChecksCritical > 0 ? 'critical' : s.ChecksWarning > 0 ? 'warning' : 'passing';
}

export function Services() {
  const { data, error } = useBlocking<ServiceSummary[]>('/v1/internal/ui/services');
  const [name, setName] = useState('');
  const [tag, setTag] = useState('');
  useEffect(() => { if (data) markRendered(); }, [data]);
  if (!data) return <>{error ? <ErrorLine error={error} /> : <Loading what="services" />}</>;
  const allTags = [...new Set(data.flatMap(s => s.Tags ?? []))].sort();
  const n = name.trim().toLowerCase();
  const shown = data.filter(s => (!n || s.Name.toLowerCase().includes(n)) && (!tag || (s.Tags ?? []).includes(tag)));
  const counts = { passing: 0, warning: 0, critical: 0 };
  for (const s of shown) counts[serviceStatus(s)]++;
  return (
    <section>
      <h1>Services <span class="count">{data.length}</span></h1>
      <ErrorLine error={error} />
      <div class="toolbar">
        <input type="search" placeholder="Filter by name" aria-label="Filter by name" value={name} onInput={e => setName(e.currentTarget.value)} />
        <select aria-label="Filter by tag" value={tag} onChange={e => setTag(e.currentTarget.value)}>
          <option value="">All tags</option>
          {allTags.map(t => <option key={t} value={t}>{t}</option>)}
        </select>
        <span class="summary" data-testid="status-counts">
          <Badge status="passing">{counts.passing} passing</Badge> <Badge status="warning">{counts.warning} warning</Badge> <Badge status="critical">{counts.critical} critical</Badge>
        </span>
      </div>
      <table class="list services">
        <thead><tr><th>Service</th><th>Tags</th><th>Instances</th><th>Checks</th></tr></thead>
        <tbody>
          {shown.map(s => (
            <tr key={s.Name} class={`svc ${serviceStatus(s)}`} data-service={s.Name} data-status={serviceStatus(s)}>
              <td><span class={`dot ${serviceStatus(s)}`} /> <a href={`#/services/${encPath(s.Name)}`}>{s.Name}</a>{s.Kind ? <span class="muted small"> {s.Kind}</span> : null}</td>
              <td><Tags tags={s.Tags} /></td>
              <td class="num">{s.InstanceCount}</td>
              <td class="checkcounts">
                {s.ChecksPassing > 0 && <Badge status="passing">{s.ChecksPassing}</Badge>}
                {s.ChecksWarning > 0 && <Badge status="warning">{s.ChecksWarning}</Badge>}
                {s.ChecksCritical > 0 && <Badge status="critical">{s.ChecksCritical}</Badge>}
                {s.ChecksPassing + s.ChecksWarning + s.ChecksCritical === 0 && <span class="muted">no checks</span>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {shown.length === 0 && <p class="muted">{data.length ? 'No service matches the filter.' : 'No services registered.'}</p>}
    </section>
  );
}
