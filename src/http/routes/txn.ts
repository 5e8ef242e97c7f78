/**
 * @module PUT /v1/txn: Consul transactions, KV operations only (set, cas, lock, unlock, get,
 * get-tree, check-index, check-session, check-not-exists, delete, delete-tree, delete-cas).
 * 200 {"Results":[...],"Errors":null} when every operation succeeds, else 409 with the errors and nothing written.
 */
import { HttpError, type BodyLimit, type Reply, type Router } from '../server.ts';
import { decode, type Schema } from '../decode.ts';
import { checkDc, durable, requireRedis, type ApiDeps } from '../context.ts';
import { KV_MAX_VALUE_SIZE, wireDirEntry } from './kv.ts';
import type { KvTxnOp } from '../../store/kv-store.ts';

/** Consul's maxTxnOps. */
const MAX_OPS = 64;
/** Consul's txn_max_req_len (512 KiB by default; never below kv_max_value_size). */
const TXN_MAX_REQ_LEN = Math.max(512 * 1024, KV_MAX_VALUE_SIZE);
const TXN_BODY: BodyLimit = { max: TXN_MAX_REQ_LEN, message: () => `Request body too large, max size: ${TXN_MAX_REQ_LEN} bytes` };
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
    const body = await ctx.json(TXN_BODY);
    if (!Array.isArray(body)) throw new HttpError(400, 'Failed to parse body: json: cannot unmarshal object into Go value of type api.TxnOps');
    if (body.length > MAX_OPS) throw new HttpError(413, `Transaction contains too many operations (${body.length} > ${MAX_OPS})`);
    const ops: KvTxnOp[] = [];
    body.forEach((raw, i) => {
      const o = decode(raw, OP);
      if (o.Node || o.Service || o.Check || o.Session) throw new HttpError(400, `Roster transactions support KV operations only (operation ${i} is not a KV operation)`);
      const kv = o.KV as Record<string, unknown> | undefined;
      if (!kv) throw new HttpError(400, `Operation ${i} has no KV field`);
      let value: Buffer | undefined;
      if (kv.Value !== undefined) {
        if (typeof kv.Value !== 'string') throw new HttpError(400, 'Failed to parse body: Value must be base64');
        value = Buffer.from(kv.Value, 'base64');
        if (value.length > KV_MAX_VALUE_SIZE) throw new HttpError(413, `Value for key ${JSON.stringify(kv.Key ?? '')} is too large (${value.length} > ${KV_MAX_VALUE_SIZE} bytes)`);
      }
      ops.push({ verb: (kv.Verb as string) ?? '', key: (kv.Key as string) ?? '', value, flags: u64(kv.Flags, 'Flags'), index: Number(u64(kv.Index, 'Index')), session: (kv.Session as string) ?? '' });
    });
    const res = await deps.kv.kv.txn(ops);
    if (!res.ok) {
      return { status: 409, body: JSON.stringify({ Results: null, Errors: [{ OpIndex: res.opIndex, What: res.what }] }), raw: true, headers: { 'Content-Type': 'application/json' } };
    }
    if (ops.some(op => !op.verb.startsWith('get') && !op.verb.startsWith('check'))) await durable(deps);
    for (const op of ops) if (!op.verb.startsWith('get') && !op.verb.startsWith('check')) deps.notifier.fireKey(op.key);
    return {
      body: { Results: res.results.map(x => ({ KV: { ...wireDirEntry(x.withValue ? x.entry : { ...x.entry, Value: Buffer.alloc(0) }) } })), Errors: null },
      headers: { 'X-Consul-Index': String(Math.max(1, res.index)), 'X-Consul-KnownLeader': 'true', 'X-Consul-LastContact': '0' },
    };
  });
}
