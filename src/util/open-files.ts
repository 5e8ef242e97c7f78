/** @module The process's open-file limit, as the agent's HTTP cap and the check workers' probe cap size themselves from it. */
import { readFileSync } from 'node:fs';

/**
 * Soft and hard open-file limits from /proc/self/limits (bin/roster raises soft to hard before starting node):
 * a number, `Infinity` for "unlimited", 0 when unknown (not Linux).
 */
export function openFilesLimit(): { soft: number; hard: number } {
  try {
    const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    const n = (x: string | undefined) => (x === 'unlimited' ? Infinity : x && /^\d+$/.test(x) ? Number(x) : 0);
    return { soft: n(m?.[1]), hard: n(m?.[2]) };
  } catch {
    return { soft: 0, hard: 0 };
  }
}
