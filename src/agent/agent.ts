/**
 * @module The agent: builds every subsystem from a Config, starts them in dependency order
 * (Redis → catalog view → DNS → HTTP → checks) and stops them in reverse.
 */
import type { Redis } from 'ioredis';
import { RedisConnector } from '../store/connect.ts';
import { DurableAcks } from '../store/durable.ts';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Server } from 'node:http';
import type { Config } from '../config/schema.ts';
import { CatalogView } from '../catalog/view.ts';
import { CatalogSyncer } from '../catalog/syncer.ts';
import { checkTimings } from '../checks/lateness.ts';
import { CatalogStore } from '../store/catalog-store.ts';
import { keysFor } from '../store/keys.ts';
import { lockDown, startEmbeddedRedis, type EmbeddedRedis } from '../store/embedded-redis.ts';
import { Notifier } from '../http/blocking.ts';
import { Router, listenHttp } from '../http/server.ts';
import type { AgentHooks, ApiDeps } from '../http/context.ts';
import { registerRoutes } from '../http/routes/index.ts';
import { logger, registerSecret } from '../log.ts';
import { VERSION } from '../version.ts';
import { parseDurationNs } from '../util/duration.ts';
import { LocalState } from './local-state.ts';
import { Gossip } from './gossip.ts';
import { AntiEntropy } from './anti-entropy.ts';
import type { NodeState } from '../catalog/model.ts';
import type { RegisterRequest } from '../store/catalog-store.ts';
import { DEFAULT_WEIGHTS } from '../catalog/model.ts';
import { DnsServer } from '../dns/server.ts';
import { openFilesLimit } from '../util/open-files.ts';
import { startHeapTrim } from '../util/heap-trim.ts';

const log = logger('agent');


export class Agent {
  readonly config: Config;
  readonly view = new CatalogView();
  readonly notifier = new Notifier();
  readonly hooks: AgentHooks = {};
  redis!: Redis;
  connector!: RedisConnector;
  acks!: DurableAcks;
  store!: CatalogStore;
  syncer!: CatalogSyncer;
  nodeId = '';
  httpServer?: Server;
  dns?: DnsServer;
  gossip?: Gossip;
  local?: LocalState;
  antiEntropy?: AntiEntropy;
  #embedded?: EmbeddedRedis;
  #sweepTimer?: NodeJS.Timeout;
  #stopping = false;
  #selfAddr = '';
  #dirRegistrars: { sync(force?: boolean): Promise<unknown>; close(): void }[] = [];
  #leave = false;
  #onStop: (() => Promise<void>)[] = [];

  constructor(config: Config) {
    this.config = config;
  }

  /** Registers a cleanup step, run (in reverse order) by stop(). */
  onStop(fn: () => Promise<void>): void {
    this.#onStop.push(fn);
  }

  async start(): Promise<void> {
    const cfg = this.config;
    lockDown(cfg.dataDir); // 0700, its files 0600
    this.nodeId = cfg.nodeId || this.#persistentNodeId();
    let url = cfg.redisUrl;
    if (!url) {
      this.#embedded = await startEmbeddedRedis(cfg.dataDir);
      url = this.#embedded.url;
      registerSecret(this.#embedded.password);
    }
    // One owner for every Redis connection of this process (command, subscribers, BullMQ): same URL,
    // topology (standalone, Sentinel, Cluster), TLS, deadlines and retry rules.
    this.connector = new RedisConnector(url, { timeoutMs: cfg.redisTimeoutMs, tls: cfg.redisTls, name: 'roster-agent' });
    // A frozen or partitioned Redis keeps the socket open and never answers: every command has a deadline.
    this.redis = this.connector.create('command');
    let lastErr = '';
    this.redis.on('error', err => { if (err.message !== lastErr) { lastErr = err.message; log.warn('redis connection error', { err: err.message }); } });
    this.redis.on('ready', () => { if (lastErr) log.info('redis connection restored'); lastErr = ''; });
    await this.#connectRedis();
    // Durable acknowledgements: a client's write is answered once redis_min_replicas_acked replicas hold it.
    // One WAIT blocks the command connection, so it is kept short: at most 1 s, within redis_timeout.
    // On a Cluster, WAIT and INFO go to the primary of the datacenter's slot (shardKey: every key of the dc shares it).
    const cluster = this.connector.endpoint.kind === 'cluster';
    this.acks = new DurableAcks(this.redis, { configured: cfg.redisMinReplicasAcked, waitMs: Math.min(1000, Math.floor(cfg.redisTimeoutMs / 2)), shardKey: keysFor(cfg.datacenter).index });
    await this.acks.refresh().catch(() => undefined);
    log.info('durable acknowledgements', { redis_min_replicas_acked: this.acks.required(), mode: cfg.redisMinReplicasAcked === undefined ? 'auto' : 'configured', ...(cluster ? { on: "the {dc} slot's primary" } : {}) });
    this.acks.start(n => log.info('redis_min_replicas_acked changed (auto: 1 when the primary reports replicas)', { redis_min_replicas_acked: n }));
    this.store = new CatalogStore(this.redis, keysFor(cfg.datacenter));
    const local = this.local = new LocalState(cfg.dataDir);
    await this.registerSelf();
    // Anti-entropy (Consul's agent/ae): the node, its services and checks come back whenever the catalog
    // lost them or holds them differently: periodically, on demand (view changes, writes that found no node).
    this.antiEntropy = new AntiEntropy({
      intervalMs: cfg.aeIntervalMs, clusterSize: () => this.hooks.members?.(false).length ?? 1,
      sync: () => this.#syncLocalState(), onError: err => log.warn('anti-entropy sync failed; retrying', { err: err.message }),
    });
    await this.#syncLocalState();
    // Per-check run timing recorded by this process's check workers and the engine's watchdog (issue 11).
    this.hooks.gauges = () => Object.entries(checkTimings.snapshot()).flatMap(([key, c]) => {
      const [node, ...rest] = key.split('/');
      const labels = { node: node!, check_id: rest.join('/') };
      return [
        { Name: 'roster.check.lateness_ms', Value: c.lastLatenessMs, Labels: labels },
        { Name: 'roster.check.lateness_max_ms', Value: c.maxLatenessMs, Labels: labels },
        { Name: 'roster.check.overdue_ms', Value: c.overdueMs, Labels: labels },
      ];
    });
    this.hooks.local = {
      adopt: req => local.adopt(req),
      track: ids => local.track(this.view.node(cfg.nodeName), ids),
      forget: (kind, id) => local.forget(kind, id),
      forgetChecksOf: (sid, keep) => local.forgetChecksOf(sid, keep),
      sync: () => this.antiEntropy!.trigger(),
    };

    this.syncer = new CatalogSyncer(this.store, this.view, { resyncIntervalMs: cfg.resyncIntervalMs, redisTimeoutMs: cfg.redisTimeoutMs, logConnection: this.connector.create('blocking') });
    this.view.on('change', ch => {
      // A reset names every node and service: firing the topics that are watched costs what is watched, not the catalog's size.
      if (ch.all) this.notifier.fireAllPrefixed(['svc:', 'node:']);
      else {
        for (const s of ch.services) this.notifier.fire(`svc:${s}`);
        for (const n of ch.nodes) this.notifier.fire(`node:${n}`);
      }
      for (const t of ['nodes', 'services', 'checks']) this.notifier.fire(`table:${t}`);
      if (ch.all || ch.nodes.has(cfg.nodeName.toLowerCase())) {
        const st = this.view.node(cfg.nodeName);
        local.refresh(st);
        if (!this.#stopping && (!st || !this.#selfInSync(st) || local.diff(st, cfg.nodeName))) void this.antiEntropy!.trigger();
      }
    });
    await this.syncer.start();
    this.antiEntropy.start();

    // --- checks engine (src/checks): schedulers from this node's checks, in-process worker, alias, reaper ---
    {
      const { CheckEngine } = await import('../checks/engine.ts');
      const engine = new CheckEngine({
        connector: this.connector, store: this.store, view: this.view, nodeName: cfg.nodeName, workers: cfg.checksWorkers, concurrency: cfg.checksConcurrency,
        outputIntervalMs: cfg.checkUpdateIntervalMs,
        // Consul's dev-only check_reap_interval / check_deregister_interval_min (tests shorten them).
        reapIntervalMs: cfg.checkReapIntervalMs, deregisterMinMs: cfg.checkDeregisterMinMs,
        onReap: sid => local.forget('service', sid),
      });
      await engine.start();
      this.onStop(() => engine.stop());
    }
    // --- end checks engine ---

    // TTL checks expire in Redis (any agent may sweep; the script is atomic and idempotent).
    this.#sweepTimer = setInterval(() => {
      if (this.redis.status === 'ready') this.store.sweep().catch(err => log.debug('ttl sweep failed', { err: (err as Error).message }));
    }, 200);

    await this.#startDns();

    // --- gossip (src/agent/gossip.ts): Serf membership, serfHealth reconciliation, user events, queries ---
    this.gossip = await Gossip.start(this);
    this.onStop(() => this.gossip!.stop(this.#leave));
    // --- end gossip ---

    const router = new Router();
    const deps: ApiDeps = {
      config: cfg, store: this.store, redis: this.redis, connector: this.connector, acks: this.acks, view: this.view, syncer: this.syncer, notifier: this.notifier,
      nodeName: cfg.nodeName, nodeId: this.nodeId, hooks: this.hooks,
    };
    registerRoutes(router, deps);
    // --- KV / sessions / events (src/http/routes/kv-deps.ts): change subscriber + session sweeper ---
    {
      const { startKvBackground } = await import('../http/routes/kv-deps.ts');
      this.onStop(await startKvBackground(deps));
    }
    // --- end KV / sessions / events ---
    // All HTTP clients together leave FD_RESERVE descriptors to Redis, DNS over TCP, checks and logs.
    const lim = openFilesLimit();
    const files = { soft: Number.isFinite(lim.soft) ? lim.soft : 0, hard: Number.isFinite(lim.hard) ? lim.hard : 0 }; // 0: unknown or unlimited
    this.httpServer = await listenHttp(router, cfg.clientAddr, cfg.ports.http, cfg.http, files.soft > 0 ? Math.max(256, files.soft - FD_RESERVE) : 0);
    // Thousands of blocking queries leaving together: give the pages they used back (src/util/heap-trim.ts).
    const trim = startHeapTrim(this.notifier, { onTrim: (released, parked) => log.debug('parked watchers left: memory-reducing GC', { released, parked }) });
    this.onStop(async () => trim.stop());
    const addr = this.httpServer.address() as { port: number };
    log.info('Roster agent running', { version: VERSION, node: cfg.nodeName, datacenter: cfg.datacenter, http: `${cfg.clientAddr}:${addr.port}`, redis: this.connector.display, open_files: `${files.soft}/${files.hard}`, http_max_conns: this.httpServer.maxConnections });
    // --- config services (src/registrar): -config-file definitions once (and on reload), each -config-dir mirrored by a
    // watching registrar (file changes and SIGHUP), all through this agent's own HTTP API ---
    {
      const { Registrar } = await import('../registrar/registrar.ts');
      const { AgentApi } = await import('../client/api.ts');
      const h = cfg.clientAddr === '0.0.0.0' || cfg.clientAddr === '::' ? '127.0.0.1' : cfg.clientAddr;
      this.#selfAddr = `${h.includes(':') ? `[${h}]` : h}:${addr.port}`;
      await this.#syncConfigServices(cfg.services);
      for (const dir of cfg.configDirs) {
        const r = new Registrar({ api: new AgentApi(this.#selfAddr), dir });
        r.on('error', err => log.warn('config dir sync failed', { dir, err: (err as Error).message }));
        await r.start().catch(err => log.warn('config dir sync failed', { dir, err: (err as Error).message }));
        this.#dirRegistrars.push(r);
        this.onStop(async () => r.close());
      }
    }
    // --- end config services ---
  }

  async #syncConfigServices(services: unknown[]): Promise<void> {
    const { registerConfigServices } = await import('../registrar/registrar.ts');
    const r = await registerConfigServices(this.#selfAddr, services).catch(err => ({ errors: [(err as Error).message], registered: [] as string[], deregister: [] as string[] }));
    for (const e of r.errors) log.warn('config service not registered', { err: e });
    if (r.registered.length || r.deregister.length) log.info('config services synced', { registered: r.registered.join(',') || '-', deregistered: r.deregister.join(',') || '-' });
  }

  /**
   * SIGHUP: re-reads -config-file services and every -config-dir, applies the new dns_config and
   * recursors, and reloads zone files. Other settings (ports, addresses, Redis) need a restart.
   */
  async reload(next: Config): Promise<void> {
    this.config.dns = next.dns;
    this.config.recursors = next.recursors;
    this.dns?.reload(this.config);
    await this.#syncConfigServices(next.services);
    for (const r of this.#dirRegistrars) await r.sync(true).catch(err => log.warn('config dir sync failed', { err: (err as Error).message }));
    const z = await this.dns?.reloadZones();
    if (z) log.info('zones reloaded', { zones: z.zones.length, errors: z.errors.length });
    for (const e of z?.errors ?? []) log.error('zone file not loaded', { err: e });
  }

  async #connectRedis(): Promise<void> {
    const ready = new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`cannot reach Redis at ${this.config.redisUrl ? this.connector.display : 'the embedded server'} within 30 s`)), 30_000);
      this.redis.once('ready', () => { clearTimeout(t); resolve(); });
    });
    this.redis.connect().catch(() => { /* ioredis keeps retrying per retryStrategy */ });
    await ready;
  }

  /** The DNS server: one that cannot start is a start-up error, like the HTTP server. */
  async #startDns(): Promise<void> {
    this.dns = new DnsServer({ view: this.view, config: this.config, log: logger('agent.dns') });
    const ports = await this.dns.listen();
    log.info('DNS server listening', { addr: this.config.clientAddr, udp: ports.udpPort, tcp: ports.tcpPort });
  }

  /** Node ID: stable per node name and data dir (persisted in <data-dir>/node-id). */
  #persistentNodeId(): string {
    const file = join(this.config.dataDir, 'node-id');
    try {
      const id = readFileSync(file, 'utf8').trim();
      if (/^[0-9a-f-]{36}$/.test(id)) return id;
    } catch { /* first start */ }
    const h = createHash('sha256').update(`${this.config.datacenter}/${this.config.nodeName}/${this.config.dataDir}`).digest('hex');
    const id = `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
    writeFileSync(file, id + '\n', { mode: 0o600 });
    return id;
  }

  /** This agent's node, its serfHealth check and (optionally) the built-in `consul` service. */
  #selfRecords(): RegisterRequest {
    const cfg = this.config;
    const a = cfg.advertiseAddr;
    const node = {
      ID: this.nodeId, Node: cfg.nodeName, Address: a, Datacenter: cfg.datacenter,
      TaggedAddresses: { lan: a, lan_ipv4: a, wan: a, wan_ipv4: a }, Meta: { 'consul-network-segment': '', 'consul-version': VERSION },
    };
    const services = cfg.registerConsulService
      ? [{ ID: 'consul', Service: 'consul', Tags: [], Address: '', Meta: { raft_version: '3', serf_protocol_current: '2', serf_protocol_max: '5', serf_protocol_min: '1', version: VERSION }, Port: cfg.ports.server, Weights: { ...DEFAULT_WEIGHTS }, EnableTagOverride: false }]
      : [];
    const checks = [{
      check: { Node: cfg.nodeName, CheckID: 'serfHealth', Name: 'Serf Health Status', Notes: '', ServiceID: '', ServiceName: '', ServiceTags: [], Type: '', Interval: '', Timeout: '', ExposedPort: 0, Definition: {} },
      status: 'passing' as const, output: 'Agent alive and reachable', keep: false, ttlMs: 0,
    }];
    return { nodeName: cfg.nodeName, node, services, checks };
  }

  /** Registers this agent's node, its serfHealth check and (optionally) the built-in `consul` service. */
  async registerSelf(): Promise<void> {
    await this.store.register(this.#selfRecords());
  }

  /** Whether the catalog holds this node as registerSelf writes it (node record, serfHealth, `consul`). */
  #selfInSync(st: NodeState): boolean {
    const want = this.#selfRecords();
    const n = want.node!;
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    return st.node.ID === n.ID && st.node.Address === n.Address && st.node.Datacenter === n.Datacenter
      && same(st.node.TaggedAddresses, n.TaggedAddresses) && same(st.node.Meta, n.Meta)
      && st.checks.has('serfHealth') && want.services.every(s => st.services.has(s.ID));
  }

  /** One anti-entropy pass: re-registers the node when missing or different, then whatever of the local state the catalog lacks. */
  async #syncLocalState(): Promise<void> {
    const cfg = this.config;
    if (this.redis.status !== 'ready') throw new Error(`Redis is unreachable (connection ${this.redis.status})`);
    let st = await this.store.loadNode(cfg.nodeName);
    if (!st || !this.#selfInSync(st)) {
      await this.registerSelf();
      log.info('Synced node info', { node: cfg.nodeName });
      if (!st) st = null;
    }
    const req = this.local!.diff(st, cfg.nodeName);
    if (!req) return;
    await this.store.register(req);
    for (const s of req.services) log.info('Synced service', { service: s.ID });
    for (const c of req.checks) log.info('Synced check', { check: c.check.CheckID });
  }

  /**
   * Stops everything this agent started, in reverse order. Idempotent. With `leave`, the agent
   * first leaves the gossip cluster gracefully and its node leaves the catalog (Consul's
   * behaviour on SIGINT); without, peers see it fail and its services leave DNS until it returns.
   */
  async stop(opts: { leave?: boolean } = {}): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#leave = opts.leave ?? false;
    log.info('stopping agent');
    this.antiEntropy?.stop();
    clearInterval(this.#sweepTimer);
    for (const fn of this.#onStop.reverse()) await fn().catch(err => log.warn('stop step failed', { err: (err as Error).message }));
    if (this.httpServer) {
      this.httpServer.closeAllConnections?.();
      await new Promise<void>(r => this.httpServer!.close(() => r()));
    }
    await this.dns?.close().catch(() => {});
    await this.syncer?.stop();
    this.acks?.stop();
    this.redis?.disconnect();
    await this.#embedded?.stop();
    log.info('agent stopped');
  }
}

/** Descriptors kept out of reach of HTTP clients (Redis connections, DNS over TCP, check probes, logs). */
const FD_RESERVE = 1024;

