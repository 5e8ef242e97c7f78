/**
 * @module Redis command latency and errors (`roster.redis.command{role}` in ms, `roster.redis.errors{role}`)
 * and reconnects (`roster.redis.reconnects{role}`) of a connection — standalone, Sentinel or Cluster.
 * Latency is measured around ioredis's sendCommand: from the moment a command is handed to the
 * connection until its reply (or error, timeouts included). A Cluster client routes every command,
 * pipelined or not, through its own sendCommand (redirections and its offline queue included), so it is
 * measured there once per command, whichever node answers.
 */
import { Cluster, type Redis } from 'ioredis';
import { metrics, M } from '../util/metrics/index.ts';

/** Marks a command already measured. A property, not a WeakSet: every command would be an ephemeron that V8's full GC walks (thousands per second under load). */
const MEASURED = Symbol('roster.measured');
interface Cmd { promise?: Promise<unknown>; [MEASURED]?: true }

/** Instruments one connection: a standalone or Sentinel client, or a Cluster client (all its nodes). */
export function instrumentRedis(conn: Redis | Cluster, role: string): void {
  const lat = M.redisCommand.series(role);
  const errs = M.redisErrors.series(role);
  const reconnects = M.redisReconnects.series(role);
  // A Cluster hands a command queued while it was not ready to its own sendCommand again: count it once.
  const orig = conn.sendCommand.bind(conn) as (cmd: Cmd, ...rest: unknown[]) => unknown;
  (conn as unknown as { sendCommand: typeof orig }).sendCommand = (cmd: Cmd, ...rest: unknown[]) => {
    const out = orig(cmd, ...rest);
    if (metrics.settings.enabled && cmd?.promise && !cmd[MEASURED]) {
      cmd[MEASURED] = true;
      const t0 = performance.now();
      cmd.promise.then(() => lat.observe(performance.now() - t0), () => { lat.observe(performance.now() - t0); errs.inc(); });
    }
    return out;
  };
  // 'reconnecting': the link (a Cluster: every node) was lost and ioredis is connecting again. A Cluster's node
  // connections do not reconnect one by one: a lost node's connection ends ('-node') and a new one is made when
  // the slots are refreshed or a command is redirected there.
  conn.on('reconnecting', () => reconnects.inc());
  if (conn instanceof Cluster) conn.on('-node', () => { if (conn.status === 'ready') reconnects.inc(); });
}
