/**
 * @module Consul-style command-line flags: `-flag v`, `-flag=v`, `--flag`, booleans as `-flag`
 * or `-flag=false`, repeatable list flags. Parsing stops at the first non-flag argument or `--`.
 */

export type FlagType = 'string' | 'int' | 'bool' | 'list';
export type FlagSpec = Record<string, FlagType>;
export type FlagValues = Record<string, string | number | boolean | string[]>;

export class FlagError extends Error {}

/** `-h`, `-help` or `--help` among a command's flags: the caller prints the command's flags and exits 0 (as Consul). */
export class HelpRequested extends Error {
  readonly spec: FlagSpec;
  constructor(spec: FlagSpec) { super('help requested'); this.spec = spec; }
}

/** The flag list of a command, one per line, as `-name=<value>`. */
export function flagUsage(spec: FlagSpec): string {
  const arg: Record<FlagType, string> = { string: '=<value>', int: '=<number>', bool: '', list: '=<value> (repeatable)' };
  return Object.keys(spec).sort().map(k => `  -${k}${arg[spec[k]!]}`).join('\n');
}

/** Parses argv against a spec; returns the values (only flags that were given) and the remaining args. */
export function parseFlags(argv: string[], spec: FlagSpec): { flags: FlagValues; args: string[] } {
  const flags: FlagValues = {};
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') { i++; break; }
    if (!a.startsWith('-') || a === '-') break;
    const body = a.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const type = spec[name];
    if (!type && (name === 'h' || name === 'help') && eq < 0) throw new HelpRequested(spec);
    if (!type) throw new FlagError(`flag provided but not defined: -${name}`);
    let val: string | undefined = eq >= 0 ? body.slice(eq + 1) : undefined;
    if (type === 'bool') {
      if (val === undefined) flags[name] = true;
      else if (/^(1|t|true)$/i.test(val)) flags[name] = true;
      else if (/^(0|f|false)$/i.test(val)) flags[name] = false;
      else throw new FlagError(`invalid boolean value "${val}" for -${name}`);
      continue;
    }
    if (val === undefined) {
      if (i + 1 >= argv.length) throw new FlagError(`flag needs an argument: -${name}`);
      val = argv[++i]!;
    }
    if (type === 'int') {
      if (!/^-?\d+$/.test(val)) throw new FlagError(`invalid value "${val}" for flag -${name}: parse error`);
      flags[name] = Number(val);
    } else if (type === 'list') {
      ((flags[name] ??= []) as string[]).push(val);
    } else flags[name] = val;
  }
  return { flags, args: argv.slice(i) };
}
