/**
 * The embedded redis-server (`roster agent -dev`): a port picked for it can be taken by another process before
 * redis-server binds it (freePort closes its probe first); the start then goes on with another port instead
 * of failing the agent. A port the operator chose is not replaced. Real redis-server, real sockets.
 */
import test from 'ava';
import { createServer, type Server } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startEmbeddedRedis } from '../src/store/embedded-redis.ts';

async function holdPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>(r => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as { port: number }).port, server };
}

test('embedded redis: a picked port taken meanwhile → another port, and the server answers there', async t => {
  const held = await holdPort();
  t.teardown(() => held.server.close());
  const picks: number[] = [];
  const pickPort = async () => { const p = picks.length === 0 ? held.port : await freePort(); picks.push(p); return p; };
  const r = await startEmbeddedRedis(mkdtempSync(join(tmpdir(), 'roster-embedded-')), { pickPort });
  t.teardown(() => r.stop());
  t.is(picks.length, 2, 'a second port was picked');
  t.is(picks[0], held.port);
  t.is(r.port, picks[1]);
  t.true(r.url.endsWith(`:${picks[1]}`));
});

test('embedded redis: a port given explicitly and taken is an error naming the log, not a silent move', async t => {
  const held = await holdPort();
  t.teardown(() => held.server.close());
  await t.throwsAsync(startEmbeddedRedis(mkdtempSync(join(tmpdir(), 'roster-embedded-')), { port: held.port }), { message: /redis-server exited with code 1.*redis\.log/ });
});
