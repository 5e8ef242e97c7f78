/**
 * @module The one way Lua scripts reach Redis. Scripts live in src/store/scripts/ as
 * `<name>-<numberOfKeys>.lua` (BullMQ's convention), each with a header naming its KEYS, ARGV and
 * reply; shared code is pulled in with `-- @include <file>` (without `.lua`), and `-- @include keys`
 * generates `KEY.<builder>(x)` functions from src/store/keys.ts, so no script spells a key name.
 * `{{NAME}}` is replaced by the constant of that name (LUA_CONSTANTS).
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { keysFor, HINTS_MAXLEN, STREAM_MAXLEN, type Keys } from './keys.ts';

export type ScriptFn = (...args: (string | number | Buffer)[]) => Promise<unknown>;

/** Constants scripts use as `{{NAME}}`. */
const LUA_CONSTANTS: Record<string, string> = { STREAM_MAXLEN: String(STREAM_MAXLEN), HINTS_MAXLEN: String(HINTS_MAXLEN) };

/** Per-item key builders of keys.ts that scripts call as `KEY.<name>(x)` (after `local PREFIX = ARGV[1]`). */
const KEY_BUILDERS = ['services', 'checks', 'sessionLocks', 'sessionsByNode'] as const satisfies readonly (keyof Keys)[];

// The scripts' folder: beside this module (src/store/scripts, or dist/src/store/scripts once the build
// copies them), else the source tree's when running a build that did not copy them.
const DIRS = [new URL('./scripts/', import.meta.url), new URL('../../../src/store/scripts/', import.meta.url)];
const dir = DIRS.find(d => existsSync(d)) ?? DIRS[0]!;
const sources = new Map<string, string>();

/** The `KEY.*` functions, derived from keys.ts: a builder's suffix after the prefix, around its argument. */
function keyFunctions(): string {
  const k = keysFor('x');
  const lines = ['local KEY = {}'];
  for (const b of KEY_BUILDERS) {
    const full = k[b]('\u0001');
    const [before, after] = full.slice(k.prefix.length).split('\u0001') as [string, string];
    lines.push(`function KEY.${b}(x) return PREFIX .. '${before}' .. x${after ? ` .. '${after}'` : ''} end`);
  }
  return lines.join('\n') + '\n';
}

/** The full text of a script file, its includes resolved and constants substituted (cached). */
export function luaSource(file: string): string {
  let src = sources.get(file);
  if (src === undefined) {
    src = readFileSync(new URL(file, dir), 'utf8')
      .replace(/^-- @include (\S+)\n/gm, (_, inc: string) => (inc === 'keys' ? keyFunctions() : luaSource(`${inc}.lua`)))
      .replace(/\{\{(\w+)\}\}/g, (m, name: string) => {
        const v = LUA_CONSTANTS[name];
        if (v === undefined) throw new Error(`${file}: unknown constant ${m}`);
        return v;
      });
    sources.set(file, src);
  }
  return src;
}

/** The Redis command name of a script file: `register-9.lua` → `rosterRegister`. */
function commandName(file: string): string {
  const base = file.replace(/-\d+\.lua$/, '');
  return `roster${base[0]!.toUpperCase()}${base.slice(1)}`;
}

/**
 * Defines the script `file` on the connection (once per connection; ioredis sends EVALSHA and
 * falls back to EVAL) and returns a function calling it with `keys` as KEYS, then `opts.prefix`
 * when given (ARGV[1] of the catalog and KV scripts), then its own arguments (`opts.buffers`:
 * replies as Buffers). The number in the file name must match `keys.length`.
 */
export function defineScript(redis: Redis, file: string, keys: readonly string[], opts: { prefix?: string; buffers?: boolean } = {}): ScriptFn {
  const n = Number(/-(\d+)\.lua$/.exec(file)?.[1]);
  if (n !== keys.length) throw new Error(`${file}: takes ${n} keys, given ${keys.length}`);
  const name = commandName(file);
  const r = redis as unknown as Record<string, ScriptFn>;
  if (!r[name]) redis.defineCommand(name, { numberOfKeys: n, lua: luaSource(file) });
  const fn = r[opts.buffers ? `${name}Buffer` : name]!.bind(redis);
  const head = opts.prefix === undefined ? [...keys] : [...keys, opts.prefix];
  return (...args) => fn(...head, ...args);
}
