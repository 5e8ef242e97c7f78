/** src/util/allocator.ts: undoing bin/roster's jemalloc preload for children, and telling which malloc is mapped. */
import test from 'ava';
import { adoptAllocator } from '../../src/util/allocator.ts';

const JE = '7f00-7f10 r-xp 00000000 08:01 123 /usr/lib/x86_64-linux-gnu/libjemalloc.so.2\n';
const LIBC = '7f00-7f10 r-xp 00000000 08:01 124 /usr/lib/x86_64-linux-gnu/libc.so.6\n';

test('allocator: the preload bin/roster added is taken out of the environment children get; what the user had is put back', t => {
  const env: NodeJS.ProcessEnv = {
    LD_PRELOAD: '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 /opt/mine.so', ROSTER_PRELOADED: '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2', ROSTER_PRELOAD_WAS: '/opt/mine.so',
    MALLOC_CONF: 'narenas:2', ROSTER_MALLOC_CONF_WAS: 'narenas:2', PATH: '/bin',
  };
  t.is(adoptAllocator(env, () => JE + LIBC), 'jemalloc');
  t.deepEqual(env, { LD_PRELOAD: '/opt/mine.so', MALLOC_CONF: 'narenas:2', PATH: '/bin' });
});

test('allocator: nothing was set before the preload → nothing is left after it', t => {
  const env: NodeJS.ProcessEnv = { LD_PRELOAD: '/usr/lib/libjemalloc.so.2', MALLOC_CONF: 'background_thread:true', ROSTER_PRELOADED: '/usr/lib/libjemalloc.so.2', ROSTER_PRELOAD_WAS: '', ROSTER_MALLOC_CONF_WAS: '' };
  t.is(adoptAllocator(env, () => JE), 'jemalloc');
  t.deepEqual(env, {});
});

test('allocator: without bin/roster\'s preload the environment is left alone and the system malloc is reported', t => {
  const env: NodeJS.ProcessEnv = { LD_PRELOAD: '/opt/mine.so', MALLOC_CONF: 'x' };
  t.is(adoptAllocator(env, () => LIBC), 'system');
  t.deepEqual(env, { LD_PRELOAD: '/opt/mine.so', MALLOC_CONF: 'x' });
  t.is(adoptAllocator({}, () => { throw new Error('no /proc'); }), 'system');
});
