/** @module `roster maint [-enable|-disable] [-service ID] [-reason TEXT]`: node and service maintenance. */
import { encPath, fail, parseApiFlags } from './http.ts';

interface Check { CheckID: string; ServiceID: string; Notes: string }

export async function maintCommand(argv: string[]): Promise<number> {
  const { flags, api } = parseApiFlags(argv, { enable: 'bool', disable: 'bool', service: 'string', reason: 'string' });
  if (flags.enable && flags.disable) return fail('Only one of -enable or -disable may be provided');
  if (!flags.enable && flags.reason) return fail('Reason may only be provided with -enable');
  if (!flags.enable && !flags.disable && flags.service) return fail('Service requires either -enable or -disable');
  try {
    if (!flags.enable && !flags.disable) {
      const { data: checks } = await api.json<Record<string, Check>>('GET', '/v1/agent/checks');
      const { data: self } = await api.json<{ Config: { NodeName: string } }>('GET', '/v1/agent/self');
      for (const c of Object.values(checks)) {
        if (c.CheckID === '_node_maintenance') process.stdout.write(`Node:\n  Name:   ${self.Config.NodeName}\n  Reason: ${c.Notes}\n\n`);
        else if (c.CheckID.startsWith('_service_maintenance:')) process.stdout.write(`Service:\n  ID:     ${c.ServiceID}\n  Reason: ${c.Notes}\n\n`);
      }
      return 0;
    }
    const enable = flags.enable === true ? 'true' : 'false';
    const reason = flags.reason as string | undefined;
    if (flags.service) {
      const r = await api.raw('PUT', `/v1/agent/service/maintenance/${encPath(flags.service as string)}`, '', { enable, reason });
      if (r.status === 404) return fail(`No service registered with ID "${flags.service as string}"`);
      if (r.status !== 200) return fail(`Error ${flags.enable ? 'enabling' : 'disabling'} service maintenance: Unexpected response code: ${r.status} (${r.text.trim()})`);
      process.stdout.write(`Service maintenance is now ${flags.enable ? 'enabled' : 'disabled'} for "${flags.service as string}"\n`);
      return 0;
    }
    await api.json('PUT', '/v1/agent/maintenance', undefined, { enable, reason });
    process.stdout.write(`Node maintenance is now ${flags.enable ? 'enabled' : 'disabled'}\n`);
    return 0;
  } catch (err) {
    return fail(`Error: ${(err as Error).message}`);
  }
}
