/** Test helpers: build byte strings from hex and quoted ASCII, as the wire notes write them. */
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

export const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms));

/** Polls `fn` until it returns true or `timeoutMs` passes; returns the final result. */
export async function waitFor(fn: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = 50): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await fn()) return true;
    await sleep(stepMs);
  }
  return fn();
}
