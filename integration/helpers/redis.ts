/** Test helper: a private redis-server per test file, stopped in teardown. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../src/store/embedded-redis.ts';

export async function testRedis(): Promise<EmbeddedRedis & { dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'roster-test-'));
  const r = await startEmbeddedRedis(dir);
  return Object.assign(r, { dir });
}
