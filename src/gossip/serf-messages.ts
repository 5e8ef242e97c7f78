/**
 * @module Serf messages (serf/messages.go): `[serfType][msgpack struct]` carried as memberlist user
 * messages; tags in node meta; query filters; relay envelopes; push-pull user state.
 */
import { encode, encodeTyped, decode, decodeStruct, str, bytes, bytesOrNull, num, bool, strList, strMap, msgpackValueSize, concat, ipToBytes, bytesToIp } from './codec.ts';
import type { GoStruct } from './codec.ts';

/** Serf message type bytes. */
export const SerfMsgType = {
  leave: 0, join: 1, pushPull: 2, userEvent: 3, query: 4, queryResponse: 5, conflictResponse: 6, keyRequest: 7, keyResponse: 8, relay: 9,
} as const;

/** Query flags. */
export const QueryFlag = { ack: 1, noBroadcast: 2 } as const;

export interface MessageLeave { ltime: number; node: string; prune: boolean }
export interface MessageJoin { ltime: number; node: string }
export interface MessageUserEvent { ltime: number; name: string; payload: Uint8Array; cc: boolean }
export interface MessageQuery {
  ltime: number; id: number; addr: Uint8Array; port: number; sourceNode: string; filters: Uint8Array[];
  flags: number; relayFactor: number; timeoutNs: number; name: string; payload: Uint8Array;
}
export interface MessageQueryResponse { ltime: number; id: number; from: string; flags: number; payload: Uint8Array | null }
export interface UserEventEntry { name: string; payload: Uint8Array }
export interface UserEvents { ltime: number; events: UserEventEntry[] }
export interface MessagePushPull {
  ltime: number; statusLTimes: Map<string, number>; leftMembers: string[]; eventLTime: number; events: UserEvents[]; queryLTime: number;
}

export function encodeLeave(m: MessageLeave): Uint8Array {
  return encodeTyped(SerfMsgType.leave, { LTime: m.ltime, Node: m.node, Prune: m.prune });
}
export function decodeLeave(s: GoStruct): MessageLeave {
  return { ltime: num(s.LTime), node: str(s.Node), prune: bool(s.Prune) };
}
export function encodeJoin(m: MessageJoin): Uint8Array {
  return encodeTyped(SerfMsgType.join, { LTime: m.ltime, Node: m.node });
}
export function decodeJoin(s: GoStruct): MessageJoin {
  return { ltime: num(s.LTime), node: str(s.Node) };
}
export function encodeUserEvent(m: MessageUserEvent): Uint8Array {
  return encodeTyped(SerfMsgType.userEvent, { LTime: m.ltime, Name: m.name, Payload: m.payload, CC: m.cc });
}
export function decodeUserEvent(s: GoStruct): MessageUserEvent {
  return { ltime: num(s.LTime), name: str(s.Name), payload: bytes(s.Payload), cc: bool(s.CC) };
}
export function encodeQuery(m: MessageQuery): Uint8Array {
  return encodeTyped(SerfMsgType.query, {
    LTime: m.ltime, ID: m.id, Addr: m.addr, Port: m.port, SourceNode: m.sourceNode, Filters: m.filters.length ? m.filters : null,
    Flags: m.flags, RelayFactor: m.relayFactor, Timeout: m.timeoutNs, Name: m.name, Payload: m.payload,
  });
}
export function decodeQuery(s: GoStruct): MessageQuery {
  const filters = Array.isArray(s.Filters) ? s.Filters.map(bytes) : [];
  return {
    ltime: num(s.LTime), id: num(s.ID), addr: bytes(s.Addr), port: num(s.Port), sourceNode: str(s.SourceNode), filters,
    flags: num(s.Flags), relayFactor: num(s.RelayFactor), timeoutNs: num(s.Timeout), name: str(s.Name), payload: bytes(s.Payload),
  };
}
export function encodeQueryResponse(m: MessageQueryResponse): Uint8Array {
  return encodeTyped(SerfMsgType.queryResponse, { LTime: m.ltime, ID: m.id, From: m.from, Flags: m.flags, Payload: m.payload });
}
export function decodeQueryResponse(s: GoStruct): MessageQueryResponse {
  return { ltime: num(s.LTime), id: num(s.ID), from: str(s.From), flags: num(s.Flags), payload: bytesOrNull(s.Payload) };
}

export function encodePushPull(m: MessagePushPull): Uint8Array {
  return encodeTyped(SerfMsgType.pushPull, {
    LTime: m.ltime, StatusLTimes: Object.fromEntries(m.statusLTimes), LeftMembers: m.leftMembers, EventLTime: m.eventLTime,
    Events: m.events.map(e => ({ LTime: e.ltime, Events: e.events.map(x => ({ Name: x.name, Payload: x.payload })) })), QueryLTime: m.queryLTime,
  });
}
export function decodePushPull(s: GoStruct): MessagePushPull {
  const status = new Map<string, number>();
  if (s.StatusLTimes && typeof s.StatusLTimes === 'object') for (const [k, v] of Object.entries(s.StatusLTimes as GoStruct)) status.set(k, num(v));
  const events: UserEvents[] = [];
  if (Array.isArray(s.Events)) {
    for (const e of s.Events) {
      if (!e || typeof e !== 'object') continue;
      const es = e as GoStruct;
      const list = Array.isArray(es.Events) ? es.Events : [];
      events.push({ ltime: num(es.LTime), events: list.filter(x => x && typeof x === 'object').map(x => ({ name: str((x as GoStruct).Name), payload: bytes((x as GoStruct).Payload) })) });
    }
  }
  return { ltime: num(s.LTime), statusLTimes: status, leftMembers: strList(s.LeftMembers), eventLTime: num(s.EventLTime), events, queryLTime: num(s.QueryLTime) };
}

/** Tag magic byte at the start of node meta. */
export const TAG_MAGIC = 0xff;

/** `[0xff] + msgpack(map[string]string)`; `ff 80` for no tags. */
export function encodeTags(tags: Record<string, string>): Uint8Array {
  return concat([Uint8Array.of(TAG_MAGIC), encode(tags)]);
}

/** Decodes node meta into tags; meta without the magic byte is the legacy `{role: meta}`. */
export function decodeTags(meta: Uint8Array): Record<string, string> {
  if (meta.length === 0 || meta[0] !== TAG_MAGIC) return { role: new TextDecoder().decode(meta) };
  try { return strMap(decode(meta.subarray(1))); } catch { return {}; }
}

/** Query filter kinds. */
export const FilterType = { node: 0, tag: 1 } as const;

/** `[0] + msgpack([]string)`. */
export function encodeNodeFilter(nodes: string[]): Uint8Array {
  return concat([Uint8Array.of(FilterType.node), encode(nodes)]);
}
/** `[1] + msgpack({Tag, Expr})`. */
export function encodeTagFilter(tag: string, expr: string): Uint8Array {
  return concat([Uint8Array.of(FilterType.tag), encode({ Tag: tag, Expr: expr })]);
}

/** Decoded filter. */
export type QueryFilter = { type: 'node'; nodes: string[] } | { type: 'tag'; tag: string; expr: string } | { type: 'unknown' };

export function decodeFilter(f: Uint8Array): QueryFilter {
  if (f.length === 0) return { type: 'unknown' };
  if (f[0] === FilterType.node) return { type: 'node', nodes: strList(decode(f.subarray(1))) };
  if (f[0] === FilterType.tag) { const s = decodeStruct(f.subarray(1)); return { type: 'tag', tag: str(s.Tag), expr: str(s.Expr) }; }
  return { type: 'unknown' };
}

/** `[9] + msgpack({DestAddr: {IP, Port, Zone}, DestName}) + inner message`. */
export function encodeRelay(addr: string, port: number, destName: string, inner: Uint8Array): Uint8Array {
  return concat([Uint8Array.of(SerfMsgType.relay), encode({ DestAddr: { IP: ipToBytes(addr), Port: port, Zone: '' }, DestName: destName }), inner]);
}

/** Splits a relay message body (after the type byte) into destination and inner message. */
export function decodeRelay(body: Uint8Array): { addr: string; port: number; name: string; inner: Uint8Array } {
  const n = msgpackValueSize(body);
  if (n < 0) throw new Error('truncated relay header');
  const h = decodeStruct(body.subarray(0, n));
  const dest = (h.DestAddr ?? {}) as GoStruct;
  return { addr: bytesToIp(bytes(dest.IP)), port: num(dest.Port), name: str(h.DestName), inner: body.subarray(n) };
}

/** Serf member status numbers (for conflict responses). */
export const MemberStatusNum = { none: 0, alive: 1, leaving: 2, left: 3, failed: 4 } as const;
