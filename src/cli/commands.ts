/** @module Registers every CLI verb. One line per verb. */
import { registerCommand } from './registry.ts';

registerCommand('agent', async () => (await import('./agent.ts')).agentCommand);
registerCommand('registrar', async () => (await import('./registrar.ts')).registrarCommand);
registerCommand('run', async () => (await import('./run.ts')).runCommand);
registerCommand('router', async () => (await import('./router.ts')).routerCommand);
registerCommand('worker', async () => (await import('./worker.ts')).workerCommand);
