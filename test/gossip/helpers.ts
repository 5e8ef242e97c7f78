/**
 * Test helpers: build byte strings from hex and quoted ASCII, as the wire notes write them. (The
 * gossip tests' timing runs on test/helpers/clock.ts's fake clock, not on real-clock waits.)
 */
export function wire(...parts: (string | number[])[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (Array.isArray(p)) { out.push(...p); continue; }
    if (p.startsWith('"')) { for (const ch of p.slice(1, -1)) out.push(ch.charCodeAt(0)); continue; }
    const hex = p.replace(/\s+/g, '');
    for (let i = 0; i < hex.length; i += 2) out.push(parseInt(hex.slice(i, i + 2), 16));
  }
  return Uint8Array.from(out);
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
