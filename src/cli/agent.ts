/** @module `roster agent`: runs an agent until SIGINT/SIGTERM. */
import { parseFlags } from './flags.ts';
import { AGENT_FLAGS, loadAgentConfig } from '../config/load.ts';
import { Agent } from '../agent/agent.ts';
import { setLogLevel, logger } from '../log.ts';
import { adoptAllocator } from '../util/allocator.ts';

export async function agentCommand(argv: string[]): Promise<number> {
  const allocator = adoptAllocator(); // before any child process starts
  const { flags } = parseFlags(argv, AGENT_FLAGS);
  const cfg = loadAgentConfig(flags);
  setLogLevel(cfg.logLevel, flags['log-json'] === true);
  const log = logger('agent');
  if (cfg.dev) log.info('Roster agent running in -dev mode: embedded Redis unless -redis is given, everything on loopback');
  const agent = new Agent(cfg);
  agent.allocator = allocator;
  agent.configLoader = () => loadAgentConfig(flags);
  let stopping = false;
  const stop = async (sig: 'interrupt' | 'terminated') => {
    if (stopping) return;
    stopping = true;
    log.info('caught signal, shutting down', { signal: sig });
    const force = setTimeout(() => { log.error('shutdown took longer than 15 s; exiting'); process.exit(1); }, 15_000);
    force.unref();
    // Consul clients leave on SIGINT and not on SIGTERM (skip_leave_on_interrupt=false, leave_on_terminate=false).
    await agent.stop({ leave: sig === 'interrupt' || cfg.leaveOnTerminate });
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('interrupt'));
  process.on('SIGTERM', () => void stop('terminated'));
  process.on('SIGHUP', () => {
    log.info('caught SIGHUP, reloading the configuration, service definitions, zones and certificates');
    agent.reloadFromFiles().catch(err => log.error('config reload failed; keeping the running configuration', { err: (err as Error).message }));
  });
  try {
    await agent.start();
  } catch (err) {
    log.error('agent failed to start', { err: (err as Error).message });
    await agent.stop();
    return 1;
  }
  return new Promise<number>(() => { /* runs until a signal */ });
}
