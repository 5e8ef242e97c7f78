/** @module Shapes shared by the client library, the registrar and the router (no runtime code). */

/** One healthy (or warning) instance of a service, as the client sees it. */
export interface Instance {
  /** Service ID (unique per node); DNS-derived instances use `address:port`. */
  id: string;
  service: string;
  node: string;
  /** Service address, falling back to the node address. */
  address: string;
  port: number;
  tags: string[];
  meta: Record<string, string>;
  weights: { Passing: number; Warning: number };
  /** Aggregated status of the instance's checks (service and node). */
  status: 'passing' | 'warning' | 'critical';
  /** Where this entry came from: the HTTP API or the DNS SRV fallback. */
  source: 'http' | 'dns';
}

export type StrategyName = 'round-robin' | 'random' | 'weighted' | 'least-outstanding';

/** A check the library registers with the service. */
export interface CheckOptions {
  /** TTL check: the library heartbeats it (PUT /v1/agent/check/pass/:id) every TTL/3 with jitter. */
  ttl?: string;
  /** HTTP check run by the agent. */
  http?: string;
  /** TCP check (`host:port`) run by the agent. */
  tcp?: string;
  interval?: string;
  timeout?: string;
  deregisterCriticalServiceAfter?: string;
  /** Check ID; default `service:<id>`. */
  id?: string;
  name?: string;
}

export interface RegisterOptions {
  name: string;
  /** Default: the name. */
  id?: string;
  address?: string;
  port?: number;
  tags?: string[];
  meta?: Record<string, string>;
  weights?: { Passing?: number; Warning?: number };
  check?: CheckOptions;
  /** Deregister on SIGINT/SIGTERM (then re-raise the signal unless someone else handles it). */
  deregisterOnExit?: boolean;
  /**
   * TTL checks only: a probe run before each heartbeat; `true` → pass, `false` or a string (the
   * reason) → fail. Without a probe the heartbeat always passes (the process being alive is the check).
   */
  probe?: () => Promise<boolean | string>;
  /** How often the registration is verified against /v1/agent/service/:id. @defaultValue 30 s */
  verifyIntervalMs?: number;
}
