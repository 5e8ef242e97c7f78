import test from 'ava';
import { createStrategy, weightOf } from '../../src/client/strategies.ts';
import type { Instance } from '../../src/client/types.ts';

const inst = (id: string, o: Partial<Instance> = {}): Instance => ({
  id, service: 'web', node: 'n', address: '127.0.0.1', port: 1, tags: [], meta: {}, weights: { Passing: 1, Warning: 1 }, status: 'passing', source: 'http', ...o,
});
const ids = (picks: (Instance | undefined)[]) => picks.map(p => p?.id).join('');

test('strategies: round-robin cycles in list order', t => {
  const s = createStrategy('round-robin');
  const l = [inst('a'), inst('b'), inst('c')];
  t.is(ids(Array.from({ length: 7 }, () => s.pick(l))), 'abcabca');
});

test('strategies: every strategy returns undefined on an empty list', t => {
  for (const n of ['round-robin', 'random', 'weighted', 'least-outstanding'] as const) t.is(createStrategy(n).pick([]), undefined, n);
});

test('strategies: random uses the injected rng', t => {
  const seq = [0, 0.5, 0.99, 0.34];
  let i = 0;
  const s = createStrategy('random', () => seq[i++]!);
  const l = [inst('a'), inst('b'), inst('c')];
  t.is(ids([s.pick(l), s.pick(l), s.pick(l), s.pick(l)]), 'abcb');
});

test('strategies: weighted is smooth weighted round-robin over Weights.Passing', t => {
  const s = createStrategy('weighted');
  const l = [inst('a', { weights: { Passing: 5, Warning: 1 } }), inst('b'), inst('c')];
  // nginx's smooth WRR for 5:1:1 gives a a b a c a a.
  t.is(ids(Array.from({ length: 7 }, () => s.pick(l))), 'aabacaa');
});

test('strategies: weighted uses Weights.Warning for warning instances; weight 0 is never picked', t => {
  t.is(weightOf(inst('w', { status: 'warning', weights: { Passing: 10, Warning: 0 } })), 0);
  t.is(weightOf(inst('w', { status: 'warning', weights: { Passing: 10, Warning: 3 } })), 3);
  const s = createStrategy('weighted');
  const l = [inst('a', { weights: { Passing: 2, Warning: 1 } }), inst('w', { status: 'warning', weights: { Passing: 9, Warning: 0 } })];
  t.is(ids(Array.from({ length: 4 }, () => s.pick(l))), 'aaaa');
});

test('strategies: weighted distribution over many picks matches the weights', t => {
  const s = createStrategy('weighted');
  const l = [inst('a', { weights: { Passing: 3, Warning: 1 } }), inst('b', { weights: { Passing: 1, Warning: 1 } })];
  const n = { a: 0, b: 0 } as Record<string, number>;
  for (let i = 0; i < 400; i++) n[s.pick(l)!.id]!++;
  t.deepEqual(n, { a: 300, b: 100 });
});

test('strategies: least-outstanding picks the instance with fewest in-flight requests', t => {
  const s = createStrategy('least-outstanding');
  const l = [inst('a'), inst('b'), inst('c')];
  const endA = s.begin(l[0]!);
  s.begin(l[0]!);
  s.begin(l[1]!);
  t.is(s.pick(l)!.id, 'c');
  s.begin(l[2]!);
  s.begin(l[2]!);
  t.is(s.pick(l)!.id, 'b');
  endA();
  t.is(s.outstanding('a'), 1);
  endA(); // idempotent
  t.is(s.outstanding('a'), 1);
});

test('strategies: least-outstanding rotates among idle instances', t => {
  const s = createStrategy('least-outstanding');
  const l = [inst('a'), inst('b'), inst('c')];
  t.is(ids([s.pick(l), s.pick(l), s.pick(l)]), 'abc');
});

test('strategies: unknown name is rejected with the valid list', t => {
  t.throws(() => createStrategy('fastest' as never), { message: /valid: round-robin, random, weighted, least-outstanding/ });
});
