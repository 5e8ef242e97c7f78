/** @module Per-service settings keyed like Consul's dns_config.service_ttl: exact name, then the longest `prefix*`, then `*`. */

/** Builds the lookup of a `{name | prefix* | *: value}` map; undefined when nothing matches. */
export function wildcardLookup<T>(map: Readonly<Record<string, T>>): (name: string) => T | undefined {
  const exact = new Map<string, T>();
  const prefixes: [string, T][] = [];
  for (const [k, v] of Object.entries(map)) {
    if (k.endsWith('*')) prefixes.push([k.slice(0, -1), v]); else exact.set(k, v);
  }
  prefixes.sort((a, b) => b[0].length - a[0].length);
  return (name: string): T | undefined => {
    const e = exact.get(name);
    if (e !== undefined) return e;
    for (const [p, v] of prefixes) if (name.startsWith(p)) return v;
    return undefined;
  };
}
