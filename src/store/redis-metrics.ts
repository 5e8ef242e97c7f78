/**
 * @module Redis command latency and errors (`roster.redis.command{role}` in ms, `roster.redis.errors{role}`)
 * of a connection, measured around ioredis's sendCommand: from the moment a command is handed to the
 * connection until its reply (or error, timeouts included).
 */
import type { Redis } from 'ioredis';
import { metrics, M } from '../util/metrics/index.ts';

interface Cmd { promise?: Promise<unknown> }

/** Instruments one connection (a standalone or Sentinel client; Cluster clients route elsewhere). */
export function instrumentRedis(conn: Redis, role: string): void {
  const lat = M.redisCommand.series(role);
  const errs = M.redisErrors.series(role);
  const orig = conn.sendCommand.bind(conn) as (cmd: Cmd, ...rest: unknown[]) => unknown;
  (conn as unknown as { sendCommand: typeof orig }).sendCommand = (cmd: Cmd, ...rest: unknown[]) => {
    const out = orig(cmd, ...rest);
    if (metrics.settings.enabled && cmd?.promise) {
      const t0 = performance.now();
      cmd.promise.then(() => lat.observe(performance.now() - t0), () => { lat.observe(performance.now() - t0); errs.inc(); });
    }
    return out;
  };
}
