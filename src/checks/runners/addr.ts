/** @module host:port parsing as Go's net.SplitHostPort (IPv6 in brackets). */

export function splitHostPort(addr: string): { host: string; port: number } | null {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(addr) ?? /^([^:]*):(\d+)$/.exec(addr);
  if (!m) return null;
  const port = Number(m[2]);
  if (port > 65535) return null;
  return { host: m[1] || '127.0.0.1', port };
}
