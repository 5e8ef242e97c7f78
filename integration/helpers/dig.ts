/** Test helper: runs the real `dig` and parses its answer. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface DigRecord { name: string; ttl: number; type: string; data: string }
export interface DigResult { status: string; flags: string[]; answer: DigRecord[]; authority: DigRecord[]; additional: DigRecord[]; raw: string }

/** `dig @127.0.0.1 -p <port> <name> <type> [extra...]`, parsed. */
export async function dig(port: number, name: string, type = 'A', extra: string[] = []): Promise<DigResult> {
  const { stdout } = await run('dig', ['@127.0.0.1', '-p', String(port), name, type, '+time=2', '+tries=1', ...extra]);
  return parseDig(stdout);
}

export function parseDig(out: string): DigResult {
  const status = /status: (\w+)/.exec(out)?.[1] ?? 'NONE';
  const flags = (/;; flags: ([^;]*);/.exec(out)?.[1] ?? '').trim().split(/\s+/).filter(Boolean);
  const sections: Record<string, DigRecord[]> = { ANSWER: [], AUTHORITY: [], ADDITIONAL: [] };
  let cur: string | null = null;
  for (const line of out.split('\n')) {
    const m = /^;; (\w+) SECTION:/.exec(line);
    if (m) { cur = m[1]!; continue; }
    if (!line.trim() || line.startsWith(';')) { if (!line.trim()) cur = null; continue; }
    if (cur && sections[cur]) {
      const p = line.split(/\s+/);
      sections[cur]!.push({ name: p[0]!, ttl: Number(p[1]), type: p[3]!, data: p.slice(4).join(' ') });
    }
  }
  return { status, flags, answer: sections.ANSWER!, authority: sections.AUTHORITY!, additional: sections.ADDITIONAL!, raw: out };
}
