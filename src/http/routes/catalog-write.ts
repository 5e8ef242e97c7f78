/**
 * @module PUT /v1/catalog/register and /v1/catalog/deregister: direct catalog writes (no agent
 * anti-entropy, catalog checks are not executed), through the same atomic store scripts.
 */
import { HttpError, type Ctx, type Router } from '../server.ts';
import { decode, validateMeta, type Schema } from '../decode.ts';
import { catalogServiceRecord } from '../registration.ts';
import { afterWrite, checkDc, requireRedis, type ApiDeps } from '../context.ts';
import type { CheckWrite } from '../../store/catalog-store.ts';
import type { CheckDefinition, HealthStatus, ServiceRec } from '../../catalog/model.ts';

export const NODE_SERVICE: Schema = {
  fields: {
    Kind: 'string', ID: 'string', Service: 'string', Tags: 'strings', Address: 'string', TaggedAddresses: 'any', Meta: 'stringMap', Port: 'int',
    SocketPath: 'string', Weights: { object: { fields: { Passing: 'int', Warning: 'int' } } }, EnableTagOverride: 'bool', Proxy: 'any', Connect: 'any',
    LocallyRegisteredAsSidecar: 'bool', PeerName: 'string', Namespace: 'string', Partition: 'string', Locality: 'any', CreateIndex: 'any', ModifyIndex: 'any',
    Datacenter: 'string',
  },
  aliases: { enable_tag_override: 'EnableTagOverride', tagged_addresses: 'TaggedAddresses' },
};

export const HEALTH_CHECK: Schema = {
  fields: {
    Node: 'string', CheckID: 'string', Name: 'string', Status: 'string', Notes: 'string', Output: 'string', ServiceID: 'string', ServiceName: 'string',
    ServiceTags: 'strings', Type: 'string', Interval: 'string', Timeout: 'string', ExposedPort: 'int', Definition: 'any', CreateIndex: 'any', ModifyIndex: 'any',
    Namespace: 'string', Partition: 'string', PeerName: 'string',
  },
  aliases: { service_id: 'ServiceID' },
};

const REGISTER: Schema = {
  fields: {
    ID: 'string', Node: 'string', Address: 'string', Datacenter: 'string', TaggedAddresses: 'stringMap', NodeMeta: 'stringMap', Service: { object: NODE_SERVICE },
    Check: { object: HEALTH_CHECK }, Checks: { array: HEALTH_CHECK }, SkipNodeUpdate: 'bool', Token: 'string', Namespace: 'string', Partition: 'string',
    PeerName: 'string', Locality: 'any',
  },
  aliases: { tagged_addresses: 'TaggedAddresses', node_meta: 'NodeMeta', skip_node_update: 'SkipNodeUpdate' },
};

const DEREGISTER: Schema = {
  fields: { Node: 'string', Address: 'string', Datacenter: 'string', ServiceID: 'string', CheckID: 'string', Token: 'string', Namespace: 'string', Partition: 'string', PeerName: 'string' },
  aliases: { service_id: 'ServiceID', check_id: 'CheckID' },
};

export function definition(v: unknown): CheckDefinition {
  if (!v || typeof v !== 'object') return {};
  const d = decode(v, { fields: { HTTP: 'string', Header: 'any', Method: 'string', Body: 'string', TLSServerName: 'string', TLSSkipVerify: 'bool', TCP: 'string', UDP: 'string', Interval: 'duration', Timeout: 'duration', DeregisterCriticalServiceAfter: 'duration' }, lenient: true });
  const out: CheckDefinition = {};
  for (const [k, x] of Object.entries(d)) if (x !== '' && x !== undefined) (out as Record<string, unknown>)[k] = x;
  return out;
}

/** The shared start of /v1/catalog/register and /deregister: decoded body and its (required) node, in this datacenter. */
async function catalogWriteBody(ctx: Ctx, deps: ApiDeps, schema: Schema): Promise<{ b: Record<string, unknown>; node: string }> {
  checkDc(ctx, deps);
  requireRedis(deps);
  const b = decode(await ctx.json(), schema);
  if (b.Datacenter && b.Datacenter !== deps.config.datacenter) throw new HttpError(500, 'No path to datacenter');
  const node = b.Node as string | undefined;
  if (!node) throw new HttpError(500, 'Must provide node');
  return { b, node };
}

export function catalogWriteRoutes(r: Router, deps: ApiDeps): void {
  r.add(['PUT'], '/v1/catalog/register', async ctx => {
    const { b, node: nodeName } = await catalogWriteBody(ctx, deps, REGISTER);
    validateMeta(b.NodeMeta as Record<string, string> | undefined, 'Invalid Node Meta');
    const skip = b.SkipNodeUpdate === true;
    if (!skip && !b.Address) throw new HttpError(500, 'Must provide address if SkipNodeUpdate is not set');
    const existing = deps.view.node(nodeName);
    const node = skip && existing ? null : {
      ID: (b.ID as string) ?? '', Node: nodeName, Address: (b.Address as string) ?? existing?.node.Address ?? '', Datacenter: deps.config.datacenter,
      TaggedAddresses: (b.TaggedAddresses as Record<string, string>) ?? {}, Meta: (b.NodeMeta as Record<string, string>) ?? {},
    };
    if (node?.ID && !/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(node.ID)) throw new HttpError(500, `Bad node ID: "${node.ID}"`);
    const services: Omit<ServiceRec, 'CreateIndex' | 'ModifyIndex'>[] = [];
    const sd = b.Service as Record<string, unknown> | undefined;
    if (sd && Object.keys(sd).length) {
      const name = sd.Service as string | undefined;
      if (!name) throw new HttpError(500, 'Must provide service name (Service.Service) if no service id (Service.ID) is provided');
      validateMeta(sd.Meta as Record<string, string> | undefined, 'Invalid Service Meta');
      services.push(catalogServiceRecord(sd, (sd.ID as string) || name, name));
    }
    const defs: Record<string, unknown>[] = [];
    if (b.Check && Object.keys(b.Check as object).length) defs.push(b.Check as Record<string, unknown>);
    for (const c of (b.Checks as Record<string, unknown>[] | undefined) ?? []) defs.push(c);
    const checks: CheckWrite[] = defs.map(c => {
      const id = (c.CheckID as string) || (c.Name as string) || '';
      if (!id) throw new HttpError(500, 'Missing check ID');
      const sid = (c.ServiceID as string) ?? '';
      const svc = sid ? services.find(s => s.ID === sid) ?? existing?.services.get(sid) : undefined;
      if (sid && !svc) throw new HttpError(500, `Unknown service ID '${sid}' for check ID '${id}'`);
      const status = ((c.Status as string) || 'critical') as HealthStatus;
      if (!['passing', 'warning', 'critical'].includes(status)) throw new HttpError(500, `Invalid check status: '${status}'`);
      const def = definition(c.Definition);
      return {
        check: {
          Node: (c.Node as string) || nodeName, CheckID: id, Name: (c.Name as string) || id, Notes: (c.Notes as string) ?? '', ServiceID: sid,
          ServiceName: svc?.Service ?? '', ServiceTags: svc?.Tags ?? [], Type: (c.Type as string) ?? '', Interval: (c.Interval as string) ?? def.Interval ?? '',
          Timeout: (c.Timeout as string) ?? def.Timeout ?? '', ExposedPort: (c.ExposedPort as number) ?? 0, Definition: def,
        },
        status, output: (c.Output as string) ?? '', keep: false, ttlMs: 0,
      };
    });
    let res;
    try {
      res = await deps.store.register({ nodeName, node, services, checks });
    } catch (err) {
      if ((err as Error).message.includes('Missing node registration')) throw new HttpError(500, 'Missing node registration');
      throw err;
    }
    await afterWrite(deps, res.index, res.changed);
    return { body: true };
  });

  r.add(['PUT'], '/v1/catalog/deregister', async ctx => {
    const { b, node } = await catalogWriteBody(ctx, deps, DEREGISTER);
    const res = b.ServiceID ? await deps.store.deregister(node, 'service', b.ServiceID as string)
      : b.CheckID ? await deps.store.deregister(node, 'check', b.CheckID as string)
      : await deps.store.deregister(node, 'node');
    await afterWrite(deps, res.index, res.found);
    return { body: true };
  });
}
