/**
 * @module PUT /v1/txn: Consul transactions. KV operations (set, cas, lock, unlock, get, get-tree,
 * check-index, check-session, check-not-exists, delete, delete-tree, delete-cas) run in one atomic
 * store script; Node, Service, Check and Session operations (src/http/routes/txn-catalog.ts) are
 * checked first and written after the KV part succeeded. Every operation is checked and every
 * failure reported: 200 {"Results":[...],"Errors":null} when all succeed, else 409 with
 * {"Results":null,"Errors":[{OpIndex, What}, ...]} and nothing written.
 */
import { HttpError, type BodyLimit, type Reply, type Router } from '../server.ts';
import { decode, type Schema } from '../decode.ts';
import { afterWrite, checkDc, durable, requireRedis, type ApiDeps } from '../context.ts';
import { KV_MAX_VALUE_SIZE, wireDirEntry } from './kv.ts';
import type { KvTxnOp } from '../../store/kv-store.ts';
import { applyCatalogOps, catalogResult, checkCatalogOps, parseCatalogOp, type CatalogOp } from './txn-catalog.ts';

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
  if (typeof v === 'bigint' && v >= 0n && v <= 0xffffffffffffffffn) return v.toString();
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
    /** Position of each KV operation in the request (errors and results name the request's OpIndex). */
    const kvAt: number[] = [];
    const catalog: CatalogOp[] = [];
    body.forEach((raw, i) => {
      const o = decode(raw, OP);
      const kind = (['Node', 'Service', 'Check', 'Session'] as const).find(k => o[k] !== undefined);
      if (kind) { catalog.push(parseCatalogOp(i, kind, o[kind])); return; }
      const kv = o.KV as Record<string, unknown> | undefined;
      if (!kv) throw new HttpError(400, `Operation ${i} has no KV, Node, Service, Check or Session field`);
      let value: Buffer | undefined;
      if (kv.Value !== undefined) {
        if (typeof kv.Value !== 'string') throw new HttpError(400, 'Failed to parse body: Value must be base64');
        value = Buffer.from(kv.Value, 'base64');
        if (value.length > KV_MAX_VALUE_SIZE) throw new HttpError(413, `Value for key ${JSON.stringify(kv.Key ?? '')} is too large (${value.length} > ${KV_MAX_VALUE_SIZE} bytes)`);
      }
      ops.push({ verb: (kv.Verb as string) ?? '', key: (kv.Key as string) ?? '', value, flags: u64(kv.Flags, 'Flags'), index: u64(kv.Index, 'Index'), session: (kv.Session as string) ?? '' });
      kvAt.push(i);
    });
    const kv = deps.kv.kv;
    const conflict = (errors: { opIndex: number; what: string }[]): Reply => ({
      status: 409, raw: true, headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ Results: null, Errors: errors.sort((a, b) => a.opIndex - b.opIndex).map(e => ({ OpIndex: e.opIndex, What: e.what })) }),
    });
    if (catalog.length) await deps.syncer.waitFor(await deps.store.catalogIndex(), 2000); // check against the catalog as it is now
    const catErrors = catalog.length ? await checkCatalogOps(deps, catalog) : [];
    // With a catalog failure the KV part only reports its own failures (a dry run writes nothing).
    const res = ops.length ? await kv.txn(ops, catErrors.length > 0) : { ok: true as const, index: 0, results: [] };
    const kvErrors = res.ok ? [] : res.errors.map(e => ({ opIndex: kvAt[e.opIndex] ?? e.opIndex, what: e.what }));
    if (catErrors.length || kvErrors.length) return conflict([...catErrors, ...kvErrors]);
    let index = res.ok ? res.index : 0;
    const kvWrote = ops.some(op => !op.verb.startsWith('get') && !op.verb.startsWith('check'));
    if (catalog.some(op => op.verb !== 'get')) {
      const ci = await applyCatalogOps(deps, catalog);
      index = Math.max(index, ci);
      await afterWrite(deps, ci, true);
    } else if (kvWrote) await durable(deps);
    for (const op of ops) if (!op.verb.startsWith('get') && !op.verb.startsWith('check')) deps.notifier.fireKey(op.key);
    const results: { at: number; r: Record<string, unknown> }[] = [];
    if (res.ok) for (const x of res.results) results.push({ at: kvAt[x.op] ?? 0, r: { KV: { ...wireDirEntry(x.withValue ? x.entry : { ...x.entry, Value: Buffer.alloc(0) }) } } });
    for (const op of catalog) { const r = catalogResult(deps, op); if (r) results.push({ at: op.i, r }); }
    results.sort((a, b) => a.at - b.at);
    return {
      body: { Results: results.map(x => x.r), Errors: null },
      headers: { 'X-Consul-Index': String(Math.max(1, index)), 'X-Consul-KnownLeader': 'true', 'X-Consul-LastContact': '0' },
    };
  });
}
