/** @module Where the local agent's HTTP API is and which ACL token to send, as every Roster program finds them. */
import { readFileSync } from 'node:fs';

/** The agent address: the explicit one, then $ROSTER_HTTP_ADDR, then $CONSUL_HTTP_ADDR, then 127.0.0.1:8500. */
export function agentAddr(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  return explicit || env.ROSTER_HTTP_ADDR || env.CONSUL_HTTP_ADDR || '127.0.0.1:8500';
}

/**
 * The ACL token: the explicit one, then $ROSTER_HTTP_TOKEN or $CONSUL_HTTP_TOKEN, then the file named by
 * $CONSUL_HTTP_TOKEN_FILE, else none.
 */
export function agentToken(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit !== undefined) return explicit;
  if (env.ROSTER_HTTP_TOKEN || env.CONSUL_HTTP_TOKEN) return (env.ROSTER_HTTP_TOKEN || env.CONSUL_HTTP_TOKEN)!;
  if (env.CONSUL_HTTP_TOKEN_FILE) return readTokenFile(env.CONSUL_HTTP_TOKEN_FILE);
  return '';
}

/** A token file's contents, trimmed; Consul's error wording when it cannot be read. */
export function readTokenFile(path: string): string {
  try { return readFileSync(path, 'utf8').trim(); } catch (err) { throw new Error(`Error loading token file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`); }
}
