/**
 * @module PUT /v1/txn: Consul transactions, KV operations only (set, cas, lock, unlock, get,
 * get-tree, check-index, check-session, check-not-exists, delete, delete-tree, delete-cas).
 * 200 {"Results":[...],"Errors":null} when every operation succeeds, else 409 with the errors and nothing written.
 */
import { HttpError, type Reply, type Router } from '../server.ts';
import { decode, type Schema } from '../decode.ts';
import { checkDc, requireRedis, type ApiDeps } from '../context.ts';
import { kvDeps } from './kv-deps.ts';
import { wireDirEntry } from './kv.ts';
import type { KvTxnOp } from '../../store/kv-store.ts';

const MAX_OPS = 128;
const KV_OP: Schema = { fields: { Verb: 'string', Key: 'string', Value: 'any', Flags: 'any', Index: 'any', Session: 'string', Namespace: 'string', Partition: 'string' } };
const OP: Schema = { fields: { KV: { object: KV_OP }, Node: 'any', Service: 'any', Check: 'any', Session: 'any' } };

function u64(v: unknown, what: string): string {
  if (v === undefined || v === null) return '0';
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return String(v);
  throw new HttpError(400, `Request decode failed: json: cannot unmarshal ${typeof v} into Go struct field .${what} of type uint64`);
}

export function txnRoutes(r: Router, deps: ApiDeps): void {
  r.add(['PUT'], '/v1/txn', async (ctx): Promise<Reply> => {
    checkDc(ctx, deps);
    requireRedis(deps);
    const body = await ctx.json();
    if (!Array.isArray(body)) throw new HttpError(400, 'Failed to parse body: json: cannot unmarshal object into Go value of type api.TxnOps');
    if (body.length > MAX_OPS) throw new HttpError(413, `Transaction contains too many operations (${body.length} > ${MAX_OPS})`);
    const ops: KvTxnOp[] = [];
    let size = 0;
    body.forEach((raw, i) => {
      const o = decode(raw, OP);
      if (o.Node || o.Service || o.Check || o.Session) throw new HttpError(400, `Roster transactions support KV operations only (operation ${i} is not a KV operation)`);
      const kv = o.KV as Record<string, unknown> | undefined;
      if (!kv) throw new HttpError(400, `Operation ${i} has no KV field`);
      let value: Buffer | undefined;
      if (kv.Value !== undefined) {
        if (typeof kv.Value !== 'string') throw new HttpError(400, 'Failed to parse body: Value must be base64');
        value = Buffer.from(kv.Value, 'base64');
        size += value.length;
      }
      ops.push({ verb: (kv.Verb as string) ?? '', key: (kv.Key as string) ?? '', value, flags: u64(kv.Flags, 'Flags'), index: Number(u64(kv.Index, 'Index')), session: (kv.Session as string) ?? '' });
    });
    if (size > 512 * 1024) throw new HttpError(413, `Value for key exceeds ${512 * 1024} byte limit`);
    const res = await kvDeps(deps).kv.txn(ops);
    if (!res.ok) {
      return { status: 409, body: JSON.stringify({ Results: null, Errors: [{ OpIndex: res.opIndex, What: res.what }] }), raw: true, headers: { 'Content-Type': 'application/json' } };
    }
    for (const op of ops) if (!op.verb.startsWith('get') && !op.verb.startsWith('check')) deps.notifier.fireKey(op.key);
    return {
      body: { Results: res.results.map(x => ({ KV: { ...wireDirEntry(x.withValue ? x.entry : { ...x.entry, Value: Buffer.alloc(0) }) } })), Errors: null },
      headers: { 'X-Consul-Index': String(Math.max(1, res.index)), 'X-Consul-KnownLeader': 'true', 'X-Consul-LastContact': '0' },
    };
  });
}
