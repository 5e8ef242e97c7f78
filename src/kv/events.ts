/**
 * @module User events (Consul's UserEvent): recorded in Redis, whether fired through the HTTP API
 * or received through gossip, so every agent lists the same events.
 */
import { EVENTS_TOPIC, type KvServices, type Wake } from './services.ts';

/** Consul's UserEvent. */
export interface UserEvent {
  ID: string;
  Name: string;
  Payload: string | null;
  NodeFilter: string;
  ServiceFilter: string;
  TagFilter: string;
  Version: number;
  LTime: number;
}

/**
 * Records a user event (fired here or received through gossip) so every agent lists it.
 * Deduplicated by ID; an event without LTime (0) gets the next one. Returns the stored event,
 * or null when the ID was already recorded.
 */
export async function recordUserEvent(deps: { kv: KvServices; notifier: Wake }, ev: UserEvent): Promise<UserEvent | null> {
  const stored = await deps.kv.events.record(ev, ev.LTime === 0);
  if (!stored) return null;
  deps.notifier.fire(EVENTS_TOPIC);
  return JSON.parse(stored) as UserEvent;
}
