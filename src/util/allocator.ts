/**
 * @module Which malloc the process runs on, and the environment its children get.
 *
 * bin/roster preloads jemalloc for the agent when the system has it (issue 19: with glibc's malloc the
 * native memory of 10,000 parked HTTP connections grows from round to round, fragments of the main arena
 * that are never returned; jemalloc gives freed pages back after a second). It records what it changed in
 * ROSTER_PRELOADED / ROSTER_PRELOAD_WAS / ROSTER_MALLOC_CONF_WAS; `adoptAllocator` puts LD_PRELOAD and
 * MALLOC_CONF back as they were, so that script checks, an embedded redis-server and `watch` handlers
 * start with the environment the agent was given.
 */
import { readFileSync } from 'node:fs';

function restore(env: NodeJS.ProcessEnv, name: string, was: string | undefined): void {
  if (was === undefined || was === '') delete env[name];
  else env[name] = was;
}

/** Undoes bin/roster's preload in `env` (children's environment); returns the allocator mapped into this process. */
export function adoptAllocator(env: NodeJS.ProcessEnv = process.env, maps = (): string => readFileSync('/proc/self/maps', 'utf8')): 'jemalloc' | 'system' {
  if (env.ROSTER_PRELOADED !== undefined) {
    restore(env, 'LD_PRELOAD', env.ROSTER_PRELOAD_WAS);
    restore(env, 'MALLOC_CONF', env.ROSTER_MALLOC_CONF_WAS);
    for (const k of ['ROSTER_PRELOADED', 'ROSTER_PRELOAD_WAS', 'ROSTER_MALLOC_CONF_WAS']) delete env[k];
  }
  try {
    return /\/libjemalloc[^/\n]*\.so/.test(maps()) ? 'jemalloc' : 'system';
  } catch {
    return 'system'; // not Linux: whatever the platform's malloc is
  }
}
