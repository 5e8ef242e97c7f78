/**
 * @module Shapes shared by the check engine, its workers and its runners.
 */
import type { CheckDefinition, HealthStatus } from '../catalog/model.ts';

/** What a runner reports: the raw result of one probe (thresholds are applied later). */
export interface RunResult {
  status: HealthStatus;
  output: string;
}

/** A runner: probes once, honours the signal (aborted at the check's timeout). */
export type Runner = (def: CheckDefinition, signal: AbortSignal) => Promise<RunResult>;

/** The data of a BullMQ check job: everything a worker needs, so workers never read the catalog. */
export interface CheckJobData {
  /** Node name as registered (case kept). */
  node: string;
  checkId: string;
  type: 'http' | 'tcp' | 'udp';
  def: CheckDefinition;
  intervalMs: number;
  timeoutMs: number;
  /** Output-only changes are written at most this often (check_update_interval). */
  outputIntervalMs: number;
}

/** Consul's default check timeout. */
export const DEFAULT_TIMEOUT_MS = 10_000;
/** Consul's output cap for HTTP bodies (OutputMaxSize). */
export const OUTPUT_MAX = 4096;
