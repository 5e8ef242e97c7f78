/** @module Registers every CLI verb. One line per verb. */
import { registerCommand } from './registry.ts';

registerCommand('agent', async () => (await import('./agent.ts')).agentCommand);
registerCommand('worker', async () => (await import('./worker.ts')).workerCommand);
