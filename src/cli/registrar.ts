/** @module `roster registrar -config-dir DIR [-http-addr ADDR]`: mirrors a folder of service definitions onto an agent. */
import { parseFlags } from './flags.ts';
import { AgentApi } from '../client/api.ts';
import { Registrar } from '../registrar/registrar.ts';
import { logger, setLogLevel, type Level } from '../log.ts';
import { parseDurationMs } from '../util/duration.ts';
import { agentAddr, agentToken } from '../util/agent-addr.ts';

const FLAGS = { 'config-dir': 'string', 'http-addr': 'string', token: 'string', 'resync': 'string', 'debounce-ms': 'int', 'log-level': 'string', 'log-json': 'bool', once: 'bool', 'deregister-on-exit': 'bool' } as const;

export async function registrarCommand(argv: string[]): Promise<number> {
  const { flags } = parseFlags(argv, FLAGS);
  setLogLevel(((flags['log-level'] as string) || 'info') as Level, flags['log-json'] === true);
  const log = logger('registrar');
  const dir = flags['config-dir'] as string | undefined;
  if (!dir) throw new Error('-config-dir is required');
  const addr = agentAddr(flags['http-addr'] as string | undefined);
  const reg = new Registrar({
    api: new AgentApi(addr, agentToken(flags.token as string | undefined)), dir,
    debounceMs: flags['debounce-ms'] as number | undefined, resyncMs: flags.resync ? parseDurationMs(flags.resync as string) : undefined,
  });
  reg.on('sync', r => {
    if (r.registered.length || r.deregister.length) log.info('synced', { registered: r.registered.join(',') || '-', deregistered: r.deregister.join(',') || '-', unchanged: r.unchanged });
    else log.debug('in sync', { unchanged: r.unchanged });
    for (const e of r.errors) log.warn(e);
  });
  reg.on('error', err => log.warn('sync failed', { err: (err as Error).message }));
  if (flags.once) {
    const r = await reg.sync();
    return r.errors.length ? 1 : 0;
  }
  log.info('registrar started', { dir, agent: addr, owner: reg.owner });
  let stopping = false;
  const stop = async (sig: string) => {
    if (stopping) return;
    stopping = true;
    reg.close();
    if (flags['deregister-on-exit']) await reg.deregisterAll().catch(err => log.warn('deregister failed', { err: (err as Error).message }));
    log.info('registrar stopped; registrations stay with the agent', { signal: sig });
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('interrupt'));
  process.on('SIGTERM', () => void stop('terminated'));
  process.on('SIGHUP', () => { log.info('caught SIGHUP, resyncing'); reg.sync(true).catch(err => log.warn('sync failed', { err: (err as Error).message })); });
  await reg.start();
  return new Promise<number>(() => { /* runs until a signal */ });
}
