/**
 * Eureka's self-preservation in the web UI (issue 17), in a real headless Chromium (Debian's `chromium`,
 * playwright-core) against a real agent: a banner while the mode is on, gone once renewals recover.
 */
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startAgent } from './helpers/agent.ts';
import { sleep } from './helpers/wait.ts';

test('ui: the self-preservation banner shows while renewals are below the threshold and goes when they recover', async t => {
  const cfg = join(mkdtempSync(join(tmpdir(), 'roster-eureka-ui-')), 'c.json');
  writeFileSync(cfg, JSON.stringify({ eureka: { eviction_interval: '1s', expected_client_renewal_interval: '1s', renewal_rate_window: '2s' } }));
  const a = await startAgent(t, { args: ['-config-file', cfg] });
  const dc = { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' };
  for (const id of ['u-1', 'u-2']) {
    const r = await fetch(`${a.http}/eureka/v2/apps/UIAPP`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ instance: { instanceId: id, hostName: `${id}-h`, app: 'UIAPP', ipAddr: '127.0.0.1', dataCenterInfo: dc, leaseInfo: { durationInSecs: 600 } } }) });
    t.is(r.status, 204);
  }
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  await page.goto(`${a.http}/ui/#/services`);
  // Two leases, no renewals: 0/min against int(2 × 60 × 0.85) = 102/min.
  const banner = await page.waitForSelector('[data-testid="self-preservation"]', { timeout: 15_000 });
  t.regex(await banner.textContent() ?? '', /below the threshold \(102\/min\) for 2 Eureka leases/);
  let running = true;
  const renewer = (async () => {
    while (running) {
      await Promise.all(['u-1', 'u-2'].map(id => fetch(`${a.http}/eureka/v2/apps/UIAPP/${id}`, { method: 'PUT' })));
      await sleep(100);
    }
  })();
  try {
    await page.waitForSelector('[data-testid="self-preservation"]', { state: 'detached', timeout: 20_000 });
    t.is(await page.$('[data-testid="self-preservation"]'), null);
    const self = await (await fetch(`${a.http}/v1/agent/self`)).json() as { Stats: { eureka: { self_preservation: string } } };
    t.is(self.Stats.eureka.self_preservation, 'false');
  } finally {
    running = false;
    await renewer;
  }
});
