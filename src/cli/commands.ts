/** @module Registers every CLI verb. One line per verb. */
import { registerCommand } from './registry.ts';

registerCommand('agent', async () => (await import('./agent.ts')).agentCommand);
registerCommand('members', async () => (await import('./members.ts')).membersCommand);
registerCommand('catalog', async () => (await import('./catalog.ts')).catalogCommand);
registerCommand('services', async () => (await import('./services.ts')).servicesCommand);
registerCommand('kv', async () => (await import('./kv.ts')).kvCommand);
registerCommand('watch', async () => (await import('./watch.ts')).watchCommand);
registerCommand('lock', async () => (await import('./lock.ts')).lockCommand);
registerCommand('maint', async () => (await import('./maint.ts')).maintCommand);
registerCommand('info', async () => (await import('./info.ts')).infoCommand);
registerCommand('event', async () => (await import('./event.ts')).eventCommand);
registerCommand('registrar', async () => (await import('./registrar.ts')).registrarCommand);
registerCommand('run', async () => (await import('./run.ts')).runCommand);
registerCommand('router', async () => (await import('./router.ts')).routerCommand);
registerCommand('worker', async () => (await import('./worker.ts')).workerCommand);
registerCommand('query', async () => (await import('./query.ts')).queryCommand);
registerCommand('snapshot', async () => (await import('./snapshot.ts')).snapshotCommand);
registerCommand('monitor', async () => (await import('./monitor.ts')).monitorCommand);
registerCommand('acl', async () => (await import('./acl.ts')).aclCommand);
