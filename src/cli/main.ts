/** @module The `roster` command: Consul's verbs and flags. */
import { enableCompileCache } from 'node:module';
import { FlagError, HelpRequested, flagUsage } from './flags.ts';
import { VERSION } from '../version.ts';
import { redact } from '../log.ts';

import { COMMANDS } from './registry.ts';
import './commands.ts';

// Start-up (bench/startup): V8 keeps the compiled code of every module it loads after this in an on-disk
// cache (NODE_COMPILE_CACHE, else <tmpdir>/node-compile-cache), so a start after the first skips most compiling.
enableCompileCache?.();

function usage(): string {
  return `Usage: roster [--version] [--help] <command> [<args>]\n\nAvailable commands are:\n${Object.keys(COMMANDS).sort().map(c => `    ${c}`).join('\n')}\n    version\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '-h' || cmd === '--help' || cmd === '-help' || cmd === 'help') {
    process.stderr.write(usage());
    return cmd ? 0 : 1;
  }
  if (cmd === 'version' || cmd === '-version' || cmd === '--version' || cmd === '-v') {
    process.stdout.write(`Roster v${VERSION}\nProtocol 2 spoken by default, understands 2 to 3 (Consul-compatible API)\n`);
    return 0;
  }
  const load = COMMANDS[cmd];
  if (!load) {
    process.stderr.write(`roster: unknown command "${cmd}"\n\n${usage()}`);
    return 1;
  }
  try {
    return await (await load())(rest);
  } catch (err) {
    if (err instanceof HelpRequested) {
      process.stderr.write(`Usage: roster ${cmd} [options]${rest[0] && !rest[0].startsWith('-') ? ` (${rest[0]})` : ''}\n\nOptions:\n\n${flagUsage(err.spec)}\n`);
      return 0;
    }
    process.stderr.write(redact(`${err instanceof FlagError ? '' : 'Error: '}${(err as Error).message}\n`));
    return 1;
  }
}

const self = process.argv[1] ?? '';
if (self.endsWith('/cli/main.js') || self.endsWith('/cli/main.ts')) {
  main(process.argv.slice(2)).then(code => { if (code !== undefined) process.exitCode = code; }, err => { process.stderr.write(redact(`Error: ${(err as Error).message}\n`)); process.exitCode = 1; });
}
