/** @module Where the local agent's HTTP API is, as every Roster program finds it. */

/** The agent address: the explicit one, then $ROSTER_HTTP_ADDR, then $CONSUL_HTTP_ADDR, then 127.0.0.1:8500. */
export function agentAddr(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  return explicit || env.ROSTER_HTTP_ADDR || env.CONSUL_HTTP_ADDR || '127.0.0.1:8500';
}
