/**
 * @module /v1/agent/members, join, leave, force-leave: gossip membership through `hooks`
 * (src/gossip plugs in); without gossip, members lists this agent alone and the others say so.
 */
import { HttpError, type Router } from '../server.ts';
import { checkDc, type ApiDeps } from '../context.ts';
import { LEGACY_GET, writeMethods } from './agent.ts';
import { VERSION } from '../../version.ts';

const NO_GOSSIP = 'gossip is not running on this agent: Roster was started without serf (membership operations are unavailable)';

/** This agent as a Consul AgentMember (what `members` shows when gossip is absent). */
export function selfMember(deps: ApiDeps, wan: boolean): Record<string, unknown> {
  const c = deps.config;
  return {
    Name: wan ? `${deps.nodeName}.${c.datacenter}` : deps.nodeName, Addr: c.advertiseAddr, Port: c.ports.serfLan,
    Tags: {
      acls: '0', build: `${VERSION}:roster`, dc: c.datacenter, ft_fs: '1', ft_si: '1', id: deps.nodeId, port: String(c.ports.server), raft_vsn: '3',
      role: 'consul', segment: '', vsn: '2', vsn_max: '3', vsn_min: '2', wan_join_port: String(c.ports.serfLan),
    },
    Status: 1, ProtocolMin: 1, ProtocolMax: 5, ProtocolCur: 2, DelegateMin: 2, DelegateMax: 5, DelegateCur: 4,
  };
}

/** `?wan=<anything non-empty>` (npm sends `wan=1`); `?wan=` empty, `0` or `false` is the LAN. */
function wanParam(q: URLSearchParams): boolean {
  return !['', '0', 'false'].includes(q.get('wan') ?? '');
}

export function memberRoutes(r: Router, deps: ApiDeps): void {
  r.add(['GET'], '/v1/agent/members', ctx => {
    checkDc(ctx, deps);
    const wan = wanParam(ctx.query);
    const seg = ctx.query.get('segment');
    if (wan && seg && seg !== '_all') throw new HttpError(400, 'Cannot provide a segment with wan=true');
    if (seg && seg !== '_all') throw new HttpError(400, 'Network segments are a Consul Enterprise feature');
    const members = deps.hooks.members ? deps.hooks.members(wan) : [selfMember(deps, wan)];
    return { body: members };
  });

  // Join dials whatever address it is given: Consul's model. With ACLs (not in Roster yet) Consul requires
  // agent:write on this node here, and operator:write for force-leave below: a route option checked in makeHandler.
  r.add(writeMethods(deps), '/v1/agent/join/', async ctx => {
    if (!deps.hooks.join) throw new HttpError(500, NO_GOSSIP);
    if (!ctx.param) throw new HttpError(400, 'Missing address to join');
    try {
      await deps.hooks.join(ctx.param, wanParam(ctx.query));
    } catch (err) {
      throw new HttpError(500, (err as Error).message);
    }
    return {};
  }, LEGACY_GET);

  r.add(['PUT'], '/v1/agent/leave', async () => {
    if (!deps.hooks.leave) throw new HttpError(500, NO_GOSSIP);
    await deps.hooks.leave();
    return {};
  });

  r.add(writeMethods(deps), '/v1/agent/force-leave/', async ctx => {
    if (!deps.hooks.forceLeave) throw new HttpError(500, NO_GOSSIP);
    if (!ctx.param) throw new HttpError(400, 'Missing node name');
    const prune = ctx.has('prune') && ctx.query.get('prune') !== 'false' && ctx.query.get('prune') !== '0';
    try {
      await deps.hooks.forceLeave(ctx.param, prune, ctx.has('wan'));
    } catch (err) {
      throw new HttpError(500, (err as Error).message);
    }
    return {};
  }, LEGACY_GET);
}
