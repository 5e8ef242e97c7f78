/**
 * @module Progress of a long CLI operation on stderr (stdout keeps the command's result lines):
 * on a terminal a bar redrawn in place at most every 100 ms, cleared at the end; otherwise (a pipe,
 * a CI log) plain lines: one per 10 % step when the total is known, else one per second, and a
 * last line when the operation ends.
 *
 * ```ts
 * const p = progress({ label: 'Registering services', total: defs.length });
 * for (const d of defs) { await register(d); p.add(1); }
 * p.done();
 * ```
 */
export interface ProgressOpts {
  label: string;
  /** 0 = unknown. */
  total?: number;
  /** How to print an amount (bytes as 1.7MB, ...). @defaultValue String */
  format?: (n: number) => string;
  /** Where to write; a terminal gets the bar. @defaultValue process.stderr */
  out?: { isTTY?: boolean; columns?: number; write(s: string): unknown };
  /** Clock (tests). */
  now?: () => number;
}

export interface Progress {
  add(n: number): void;
  /** Writes a result line to `to` (stdout): on a terminal the bar is cleared first and redrawn after, so they do not mix. */
  line(text: string, to?: { write(s: string): unknown }): void;
  done(ok?: boolean): void;
}

const BAR = 30;

export function progress(o: ProgressOpts): Progress {
  const out = o.out ?? process.stderr;
  const now = o.now ?? Date.now;
  const fmt = o.format ?? String;
  const total = o.total ?? 0;
  const tty = out.isTTY === true;
  let n = 0;
  let lastDraw = 0;
  let lastStep = 0;
  let lastLine = now();
  let finished = false;
  const amount = () => (total ? `${fmt(n)}/${fmt(total)}` : fmt(n));
  const pct = () => (total ? Math.min(100, Math.floor((n / total) * 100)) : 0);
  const draw = () => {
    const bar = total ? `[${'#'.repeat(Math.round((pct() / 100) * BAR)).padEnd(BAR, '.')}] ${String(pct()).padStart(3)}% ` : '';
    out.write(`\r${o.label}: ${bar}${amount()}\x1b[K`);
  };
  return {
    add(k) {
      if (finished) return;
      n += k;
      const t = now();
      if (tty) {
        if (t - lastDraw >= 100) { lastDraw = t; draw(); }
        return;
      }
      if (total) {
        const step = Math.floor(pct() / 10);
        if (step > lastStep && n < total) { lastStep = step; out.write(`${o.label}: ${amount()} (${pct()}%)\n`); }
      } else if (t - lastLine >= 1000) {
        lastLine = t;
        out.write(`${o.label}: ${amount()}\n`);
      }
    },
    line(text, to = process.stdout) {
      if (tty && !finished && lastDraw > 0) out.write('\r\x1b[K');
      to.write(text);
      if (tty && !finished && lastDraw > 0) draw();
    },
    done(ok = true) {
      if (finished) return;
      finished = true;
      if (tty) { out.write('\r\x1b[K'); return; }
      out.write(`${o.label}: ${amount()}${total ? ` (${pct()}%)` : ''}${ok ? ', done' : ', failed'}\n`);
    },
  };
}
