/**
 * @module How old the view is: Roster's `X-Consul-LastContact` and `X-Consul-KnownLeader`.
 *
 * Consul's LastContact is the time since the serving server last heard from the leader. Roster's
 * leader is Redis, heard through the change-log reader: every XREAD that returns is contact. An idle
 * agent's read is parked on Redis for up to `blockMs` (Redis answers it the moment a change is
 * appended), so while a read is parked within its block time (plus a small grace for the reply's
 * trip) the view is as current as Redis's log: LastContact 0. A read past that, no read in flight
 * (the connection is being re-opened), or a view that stopped following the log (a reload pending)
 * count from the last moment the view was known current. The error is bounded by `blockMs`: a Redis
 * that froze just after a read was parked shows 0 until the block time ran out.
 */

/** What a read's meta headers report. */
export interface Freshness {
  /** ms since the view was last known to hold everything Redis had. */
  lastContactMs: number;
  /** false once Redis has not been heard from for longer than redis_timeout. */
  knownLeader: boolean;
}

/** Extra time past blockMs a parked read's reply may take before the read counts as unanswered (ms). */
export const REPLY_GRACE_MS = 500;

export interface ContactState {
  /** Now (ms, wall clock). */
  now: number;
  /** When the view was last known current (a read returned, a reload or revision check completed); 0 = never. */
  lastContact: number;
  /** When the read in flight was issued; 0 = none in flight. */
  readingSince: number;
  /** How long one read blocks on Redis (ms). */
  blockMs: number;
  /** The view follows the log (no reload pending or running): a parked read then means the view is current. */
  following: boolean;
  /** redis_timeout (ms): past it, KnownLeader is false. */
  timeoutMs: number;
}

/** The view's freshness from the reader's state (pure: the caller supplies the clock). */
export function freshness(s: ContactState): Freshness {
  let at = s.lastContact;
  if (s.following && s.readingSince > 0 && s.now - s.readingSince <= s.blockMs + REPLY_GRACE_MS) at = s.now;
  else if (s.following && s.readingSince > at) at = s.readingSince;
  if (at <= 0) return { lastContactMs: 0, knownLeader: false };
  const lastContactMs = Math.max(0, s.now - at);
  return { lastContactMs, knownLeader: lastContactMs <= s.timeoutMs };
}
