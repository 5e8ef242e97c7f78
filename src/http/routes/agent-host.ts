/**
 * @module GET /v1/agent/host (Consul's debug host information, gopsutil's shapes: Memory, CPU,
 * Host, Disk) and PUT /v1/agent/reload (re-reads the configuration files, as SIGHUP does).
 */
import { cpus, freemem, hostname, loadavg, platform, release, arch, totalmem, uptime, version } from 'node:os';
import { statfs } from 'node:fs/promises';
import { HttpError, type Router } from '../server.ts';
import type { ApiDeps } from '../context.ts';

export function agentHostRoutes(r: Router, deps: ApiDeps): void {
  r.add(['GET'], '/v1/agent/host', async () => {
    const errors: string[] = [];
    const total = totalmem();
    const free = freemem();
    let disk: Record<string, unknown> = {};
    try {
      const s = await statfs(deps.config.dataDir || '/');
      const t = s.blocks * s.bsize;
      const f = s.bavail * s.bsize;
      disk = { path: deps.config.dataDir || '/', fstype: '', total: t, free: f, used: t - s.bfree * s.bsize, usedPercent: t ? ((t - s.bfree * s.bsize) / t) * 100 : 0, inodesTotal: s.files, inodesFree: s.ffree, inodesUsed: s.files - s.ffree, inodesUsedPercent: s.files ? ((s.files - s.ffree) / s.files) * 100 : 0 };
    } catch (err) {
      errors.push(`disk: ${(err as Error).message}`);
    }
    const up = Math.floor(uptime());
    return {
      body: {
        Memory: { total, available: free, used: total - free, usedPercent: total ? ((total - free) / total) * 100 : 0, free },
        CPU: cpus().map((c, i) => ({ cpu: i, vendorId: '', family: '', model: '', stepping: 0, physicalId: '', coreId: String(i), cores: 1, modelName: c.model, mhz: c.speed, cacheSize: 0, flags: [], microcode: '' })),
        Host: {
          hostname: hostname(), uptime: up, bootTime: Math.floor(Date.now() / 1000) - up, procs: 0, os: platform(), platform: platform(), platformFamily: '',
          platformVersion: version(), kernelVersion: release(), kernelArch: arch(), virtualizationSystem: '', virtualizationRole: '', hostId: deps.nodeId, loadavg: loadavg(),
        },
        Disk: disk,
        CollectionTime: Date.now() * 1e6,
        Errors: errors.length ? errors : null,
      },
    };
  });

  r.add(['PUT'], '/v1/agent/reload', async () => {
    if (!deps.hooks.reload) throw new HttpError(500, 'reload is not available on this agent');
    try {
      await deps.hooks.reload();
    } catch (err) {
      throw new HttpError(500, `Failed reloading: ${(err as Error).message}`);
    }
    return {};
  });
}
