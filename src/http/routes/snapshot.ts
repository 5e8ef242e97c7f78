/**
 * @module /v1/snapshot: GET streams a consistent backup of the datacenter (Roster's format, see
 * src/store/snapshot-format.ts); PUT restores one atomically, and every agent reloads its view
 * through the epoch rule. A corrupt, truncated or foreign file is refused with 400 and changes nothing.
 */
import { Readable } from 'node:stream';
import type { Reply, Router } from '../server.ts';
import { HttpError } from '../server.ts';
import { checkDc, durable, metaHeaders, requireRedis, type ApiDeps } from '../context.ts';
import { SnapshotStore } from '../../store/snapshot-store.ts';
import { encodeSnapshot, SnapshotError } from '../../store/snapshot-format.ts';
import { logger } from '../../log.ts';

const log = logger('agent.snapshot');

/** The largest snapshot PUT accepted (compressed bytes). */
export const SNAPSHOT_MAX_BYTES = 1024 * 1024 * 1024;

/** The request body, refused with 413 past the limit. */
async function* limited(body: AsyncIterable<Buffer>, max: number): AsyncGenerator<Buffer> {
  let n = 0;
  for await (const c of body) {
    n += c.length;
    if (n > max) throw new HttpError(413, `Request body too large, max size: ${max} bytes`, true);
    yield c;
  }
}

export function snapshotRoutes(r: Router, deps: ApiDeps): void {
  let store: SnapshotStore | null = null;
  const snapshots = () => (store ??= new SnapshotStore(deps.redis, deps.store.keys, deps.config.datacenter));
  // One save or restore at a time per agent: each holds a whole snapshot's keys in memory or in staging.
  let busy = false;
  r.add(['GET', 'PUT'], '/v1/snapshot', async ctx => {
    checkDc(ctx, deps);
    // Redis is the one "leader": a snapshot is always taken from it, ?stale or not.
    requireRedis(deps);
    if (busy) throw new HttpError(429, 'Too many requests: a snapshot save or restore is already in progress on this agent', ctx.method === 'PUT');
    busy = true;
    let streaming = false;
    try {
      const reply = await handle(ctx.method, ctx.req);
      if (reply.body instanceof Readable) { streaming = true; reply.body.once('close', () => { busy = false; }); }
      return reply;
    } finally {
      if (!streaming) busy = false;
    }
  });

  async function handle(method: string, req: AsyncIterable<Buffer>): Promise<Reply> {
    if (method === 'GET') {
      const snap = await snapshots().save();
      const { 'X-Consul-Effective-Consistency': _, ...meta } = metaHeaders(snap.header.index, null);
      log.info('snapshot saved', { index: snap.header.index, keys: snap.header.keys });
      return { body: encodeSnapshot(snap.header, snap.entries), headers: { ...meta, 'Content-Type': 'application/x-gzip' } };
    }
    // Every index this agent has served (catalog and KV): a restore into a flushed Redis still stays above them.
    const floor = Math.max(deps.view.appliedIndex, deps.syncer.watermark, deps.kv.indexSeen, ...Object.values(deps.view.tableIndex));
    let res;
    try {
      res = await snapshots().restore(limited(req, SNAPSHOT_MAX_BYTES), floor);
    } catch (err) {
      if (err instanceof SnapshotError) {
        log.warn('snapshot restore refused; nothing changed', { err: err.message });
        throw new HttpError(400, `Error restoring snapshot: ${err.message}`, true);
      }
      throw err;
    }
    log.info('snapshot restored', { from: res.header.index, index: res.index, epoch: res.epoch, keys: res.keys, replaced: res.replaced });
    await durable(deps); // acknowledged once redis_min_replicas_acked replicas hold the restore
    await deps.syncer.waitFor(res.index, 10_000);
    return {};
  }
}
