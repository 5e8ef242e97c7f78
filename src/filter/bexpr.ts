/**
 * @module A go-bexpr compatible boolean expression language (Consul's `?filter=`), evaluated over
 * the JSON wire objects the API returns.
 *
 * Matches: `Sel == v`, `Sel != v`, `Sel is empty`, `Sel is not empty`, `v in Sel`, `v not in Sel`,
 * `Sel contains v`, `Sel not contains v`, `Sel matches "re"`, `Sel not matches "re"`; combined with
 * `and`, `or`, `not` and parentheses. Selectors are dotted (`Service.Meta.env`) or indexed
 * (`Meta["a-b"]`); values are "strings", `raw strings`, numbers, booleans or bare words.
 * A selector through a list (e.g. `Checks.Status`) matches when any element matches.
 */

export class FilterError extends Error {}

/** An expression nested past MAX_FILTER_DEPTH: bad input (400), not a failure of the evaluator. */
export class FilterDepthError extends FilterError {}

/** Parentheses and `not`s one expression may nest; go-bexpr has no limit, but a stack does. */
export const MAX_FILTER_DEPTH = 256;

type Tok = { t: 'str' | 'num' | 'word' | 'op'; v: string; pos: number };

type Node =
  | { k: 'and' | 'or'; list: Node[] }
  | { k: 'not'; a: Node }
  | { k: 'match'; op: '==' | '!=' | 'empty' | 'notempty' | 'in' | 'notin' | 'matches' | 'notmatches'; sel: string[]; val: string; re?: RegExp };

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) { i++; continue; }
    const pos = i;
    if (c === '"') {
      let s = '';
      i++;
      while (i < src.length && src[i] !== '"') {
        if (src[i] === '\\' && i + 1 < src.length) {
          const n = src[i + 1]!;
          s += n === 'n' ? '\n' : n === 't' ? '\t' : n === 'r' ? '\r' : n;
          i += 2;
        } else s += src[i++];
      }
      if (i >= src.length) throw new FilterError(`1:${pos + 1}: unterminated string literal`);
      i++;
      out.push({ t: 'str', v: s, pos });
    } else if (c === '`') {
      const end = src.indexOf('`', i + 1);
      if (end < 0) throw new FilterError(`1:${pos + 1}: unterminated raw string literal`);
      out.push({ t: 'str', v: src.slice(i + 1, end), pos });
      i = end + 1;
    } else if (src.startsWith('==', i) || src.startsWith('!=', i)) {
      out.push({ t: 'op', v: src.slice(i, i + 2), pos });
      i += 2;
    } else if ('()[].'.includes(c)) {
      out.push({ t: 'op', v: c, pos });
      i++;
    } else if (/[-+0-9]/.test(c) && /^[-+]?\d/.test(src.slice(i))) {
      const m = /^[-+]?\d+(\.\d+)?([eE][-+]?\d+)?/.exec(src.slice(i))!;
      out.push({ t: 'num', v: m[0], pos });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_\-/:]*/.exec(src.slice(i))!;
      out.push({ t: 'word', v: m[0], pos });
      i += m[0].length;
    } else throw new FilterError(`1:${pos + 1}: unexpected character "${c}"`);
  }
  return out;
}

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'is', 'empty', 'contains', 'matches']);

class Parser {
  #t: Tok[];
  #i = 0;
  #depth = 0;
  constructor(t: Tok[]) { this.#t = t; }
  #enter(pos: number): void {
    if (++this.#depth > MAX_FILTER_DEPTH) throw new FilterDepthError(`1:${pos + 1}: expression nested deeper than ${MAX_FILTER_DEPTH} levels`);
  }
  peek(o = 0): Tok | undefined { return this.#t[this.#i + o]; }
  next(): Tok {
    const t = this.#t[this.#i++];
    if (!t) throw new FilterError('unexpected end of expression');
    return t;
  }
  isWord(v: string, o = 0): boolean { const t = this.peek(o); return !!t && t.t === 'word' && t.v === v; }
  isOp(v: string): boolean { const t = this.peek(); return !!t && t.t === 'op' && t.v === v; }
  expect(v: string): void {
    const t = this.next();
    if (t.v !== v) throw new FilterError(`1:${t.pos + 1}: expected "${v}", found "${t.v}"`);
  }
  done(): boolean { return this.#i >= this.#t.length; }

  // `a and b and c` is one n-ary node, so long chains cost no stack depth; only parentheses and `not` nest.
  parseOr(): Node {
    const list = [this.parseAnd()];
    while (this.isWord('or')) { this.next(); list.push(this.parseAnd()); }
    return list.length === 1 ? list[0]! : { k: 'or', list };
  }
  parseAnd(): Node {
    const list = [this.parseNot()];
    while (this.isWord('and')) { this.next(); list.push(this.parseNot()); }
    return list.length === 1 ? list[0]! : { k: 'and', list };
  }
  parseNot(): Node {
    if (this.isWord('not')) {
      this.#enter(this.next().pos);
      const a = this.parseNot();
      this.#depth--;
      return { k: 'not', a };
    }
    if (this.isOp('(')) {
      this.#enter(this.next().pos);
      const e = this.parseOr();
      this.expect(')');
      this.#depth--;
      return e;
    }
    return this.parseMatch();
  }
  parseValue(): string {
    const t = this.next();
    if (t.t === 'str' || t.t === 'num') return t.v;
    if (t.t === 'word' && !KEYWORDS.has(t.v)) return t.v;
    throw new FilterError(`1:${t.pos + 1}: expected a value, found "${t.v}"`);
  }
  parseSelector(): string[] {
    const t = this.next();
    if (t.t !== 'word' || KEYWORDS.has(t.v)) throw new FilterError(`1:${t.pos + 1}: expected a selector, found "${t.v}"`);
    const sel = [t.v];
    for (;;) {
      if (this.isOp('.')) {
        this.next();
        const w = this.next();
        if (w.t !== 'word' && w.t !== 'num') throw new FilterError(`1:${w.pos + 1}: expected a field name after "."`);
        sel.push(w.v);
      } else if (this.isOp('[')) {
        this.next();
        const w = this.next();
        if (w.t !== 'str') throw new FilterError(`1:${w.pos + 1}: expected a quoted key in []`);
        sel.push(w.v);
        this.expect(']');
      } else return sel;
    }
  }
  parseMatch(): Node {
    const t = this.peek();
    if (!t) throw new FilterError('unexpected end of expression');
    // value-first forms: "v" in Sel, v not in Sel
    const valueFirst = t.t === 'str' || t.t === 'num' || (t.t === 'word' && (this.isWord('in', 1) || (this.isWord('not', 1) && this.isWord('in', 2))));
    if (valueFirst) {
      const val = this.parseValue();
      let neg = false;
      if (this.isWord('not')) { this.next(); neg = true; }
      if (!this.isWord('in')) throw new FilterError(`1:${(this.peek()?.pos ?? 0) + 1}: expected "in" after a value`);
      this.next();
      return { k: 'match', op: neg ? 'notin' : 'in', sel: this.parseSelector(), val };
    }
    const sel = this.parseSelector();
    const o = this.next();
    if (o.t === 'op' && (o.v === '==' || o.v === '!=')) return { k: 'match', op: o.v, sel, val: this.parseValue() };
    if (o.t === 'word') {
      if (o.v === 'is') {
        let neg = false;
        if (this.isWord('not')) { this.next(); neg = true; }
        this.expect('empty');
        return { k: 'match', op: neg ? 'notempty' : 'empty', sel, val: '' };
      }
      let neg = false;
      let w = o.v;
      if (w === 'not') { neg = true; w = this.next().v; }
      if (w === 'contains') return { k: 'match', op: neg ? 'notin' : 'in', sel, val: this.parseValue() };
      if (w === 'matches') {
        const val = this.parseValue();
        let re: RegExp;
        try { re = new RegExp(val); } catch (err) { throw new FilterError(`invalid regular expression "${val}": ${(err as Error).message}`); }
        return { k: 'match', op: neg ? 'notmatches' : 'matches', sel, val, re };
      }
    }
    throw new FilterError(`1:${o.pos + 1}: unexpected "${o.v}" after selector ${sel.join('.')}`);
  }
}

/** Resolves a selector to the values it reaches (lists on the way are traversed element by element). */
function resolve(obj: unknown, sel: string[]): unknown[] {
  let cur: unknown[] = [obj];
  for (let i = 0; i < sel.length; i++) {
    const name = sel[i]!;
    const next: unknown[] = [];
    for (const v of cur) {
      const items = Array.isArray(v) ? v : [v];
      for (const it of items) {
        if (it === null || typeof it !== 'object' || Array.isArray(it)) continue;
        const o = it as Record<string, unknown>;
        if (name in o) next.push(o[name]);
        else {
          const k = Object.keys(o).find(x => x.toLowerCase() === name.toLowerCase());
          if (k !== undefined) next.push(o[k]);
        }
      }
    }
    cur = next;
  }
  return cur;
}

function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v as object).length === 0;
  return false;
}

function equals(x: unknown, val: string): boolean {
  if (typeof x === 'string') return x === val;
  if (typeof x === 'number') return val.trim() !== '' && Number(val) === x;
  if (typeof x === 'boolean') return String(x) === val.toLowerCase();
  return false;
}

function contains(x: unknown, val: string): boolean {
  if (typeof x === 'string') return x.includes(val);
  if (Array.isArray(x)) return x.some(e => equals(e, val));
  if (x && typeof x === 'object') return Object.prototype.hasOwnProperty.call(x, val);
  return false;
}

function evaluate(n: Node, obj: unknown): boolean {
  switch (n.k) {
    case 'and': return n.list.every(x => evaluate(x, obj));
    case 'or': return n.list.some(x => evaluate(x, obj));
    case 'not': return !evaluate(n.a, obj);
    default: {
      const vals = resolve(obj, n.sel);
      switch (n.op) {
        case '==': return vals.some(v => equals(v, n.val));
        case '!=': return !vals.some(v => equals(v, n.val));
        case 'empty': return vals.every(isEmpty);
        case 'notempty': return !vals.every(isEmpty);
        case 'in': return vals.some(v => contains(v, n.val));
        case 'notin': return !vals.some(v => contains(v, n.val));
        case 'matches': return vals.some(v => typeof v === 'string' && n.re!.test(v));
        case 'notmatches': return !vals.some(v => typeof v === 'string' && n.re!.test(v));
      }
    }
  }
}

/** A compiled filter expression. */
export interface Filter { (obj: unknown): boolean; source: string }

/** Parses an expression; throws FilterError on a syntax error. */
export function compileFilter(src: string): Filter {
  const toks = tokenize(src);
  if (toks.length === 0) throw new FilterError('empty filter expression');
  const p = new Parser(toks);
  const ast = p.parseOr();
  if (!p.done()) {
    const t = p.peek()!;
    throw new FilterError(`1:${t.pos + 1}: unexpected "${t.v}"`);
  }
  const f = ((obj: unknown) => evaluate(ast, obj)) as Filter;
  f.source = src;
  return f;
}
