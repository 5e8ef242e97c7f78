/**
 * The synthetic catalog the store and view benchmarks load: `nodes` nodes × 5 services (2,000 service names), one TTL
 * check each, written 500 registrations at a time. Takes any CatalogStore (benchmarks load it from ROSTER_SRC, so it
 * may be an older version of the class).
 */
interface Registrar { register(req: unknown): Promise<unknown> }

export async function fillCatalog(writer: Registrar, nodes: number): Promise<void> {
  const batch: Promise<unknown>[] = [];
  for (let i = 0; i < nodes; i++) {
    batch.push(writer.register({
      nodeName: `n${i}`, node: { ID: '', Node: `n${i}`, Address: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, Datacenter: 'dc1', TaggedAddresses: {}, Meta: {} },
      services: Array.from({ length: 5 }, (_, k) => ({ ID: `s${k}`, Service: `svc${(i * 5 + k) % 2000}`, Tags: ['a'], Address: '', Meta: {}, Port: 8000 + k, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false })),
      checks: [{ check: { Node: `n${i}`, CheckID: 'c', Name: 'c', Notes: '', ServiceID: 's0', ServiceName: `svc${(i * 5) % 2000}`, ServiceTags: [], Type: 'ttl', Interval: '', Timeout: '', ExposedPort: 0, Definition: { TTL: '1h' } }, status: 'passing', output: '', keep: false, ttlMs: 0 }],
    }));
    if (batch.length >= 500) await Promise.all(batch.splice(0));
  }
  await Promise.all(batch);
}
