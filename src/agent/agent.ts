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
import { listenHttp, secureContextOptions } from '../http/server.ts';
import type { AclDeps, AgentHooks, ApiDeps } from '../http/context.ts';
import { apiRouter } from '../http/api.ts';
import { KvServices, startKvBackground } from '../kv/services.ts';
import { HintLog } from '../store/hint-log.ts';
import { logger, registerSecret, setLogLevel } from '../log.ts';
import { VERSION } from '../version.ts';
import { selfInSync, selfRecords } from './self-records.ts';
import { parseDurationNs } from '../util/duration.ts';
import { LocalState } from './local-state.ts';
import { Gossip } from './gossip.ts';
import { WanPool } from './wan.ts';
import { AntiEntropy } from './anti-entropy.ts';
import type { Instance } from '../catalog/model.ts';
import { QueryError } from '../catalog/prepared-query.ts';
import { executeQuery } from '../http/query-exec.ts';
import { DnsServer } from '../dns/server.ts';
import { openFilesLimit } from '../util/open-files.ts';
import { startTelemetry } from './telemetry.ts';
import { metrics } from '../util/metrics/index.ts';
import { startEureka, type EurekaHandle } from '../eureka/index.ts';
import { protectionStats } from '../catalog/protection.ts';
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
  kv!: KvServices;
  syncer!: CatalogSyncer;
  nodeId = '';
  httpServer?: Server;
  httpsServer?: Server;
  /** TLS material for the agent's calls to its own API when only HTTPS is on. */
  #selfTls?: { cert: Buffer; key: Buffer; ca?: Buffer };
  dns?: DnsServer;
  gossip?: Gossip;
  wan?: WanPool;
  /** Settles once the WAN pool started (or failed to). */
  wanStarting?: Promise<unknown>;
  local?: LocalState;
  antiEntropy?: AntiEntropy;
  eureka?: EurekaHandle | null;
  #embedded?: EmbeddedRedis;
  #sweepTimer?: NodeJS.Timeout;
  #stopping = false;
  #selfAddr = '';
  #dirRegistrars: { sync(force?: boolean): Promise<unknown>; close(): void }[] = [];
  #leave = false;
  #dnsPort = 0;
  #onStop: (() => Promise<void>)[] = [];
  /** Re-reads the configuration (files and flags); set by `roster agent`, used by SIGHUP and PUT /v1/agent/reload. */
  configLoader?: () => Config;
  allocator = 'system'; // the malloc this process runs on (src/util/allocator.ts; `roster agent` sets it), in the start-up line
  /** ACL state when acl.enabled (src/agent/acl.ts). */
  acl?: AclDeps;
  hints?: HintLog;

  constructor(config: Config) {
    this.config = config;
  }

  /** Re-reads the configuration and applies it (a file that fails to parse leaves the running configuration alone). */
  async reloadFromFiles(): Promise<void> {
    if (!this.configLoader) throw new Error('no configuration loader');
    await this.reload(this.configLoader());
  }

  #onReload: ((next: Config) => Promise<void>)[] = [];
  /** Registers a step run on every reload (e.g. re-reading TLS certificates). */
  onReload(fn: (next: Config) => Promise<void>): void {
    this.#onReload.push(fn);
  }

  /** Registers a cleanup step, run (in reverse order) by stop(). */
  onStop(fn: () => Promise<void>): void {
    this.#onStop.push(fn);
  }

  async start(): Promise<void> {
    const cfg = this.config;
    lockDown(cfg.dataDir); // 0700, its files 0600
    startTelemetry(cfg, this.view, this.notifier);
    this.onStop(async () => metrics.stop());
    this.nodeId = cfg.nodeId || this.#persistentNodeId();
    // Start-up (bench/startup): the check engine (BullMQ, the largest import) starts after the HTTP API
    // answers, so readiness does not wait for it; it loads while an embedded redis-server starts (the
    // event loop is idle then), else after the HTTP API answers (loading it earlier delays the rest).
    let engineModule: Promise<typeof import('../checks/engine.ts')> | undefined;
    let url = cfg.redisUrl;
    if (!url) {
      engineModule = import('../checks/engine.ts');
      engineModule.catch(() => {}); // a failure surfaces where it is awaited
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
    this.kv = new KvServices(this.redis, this.store.keys);
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
        if (!this.#stopping && (!st || !selfInSync(st, this.config, this.nodeId) || local.diff(st, cfg.nodeName))) void this.antiEntropy!.trigger();
      }
    });
    await this.syncer.start();
    this.antiEntropy.start();

    // TTL checks expire in Redis (any agent may sweep; the script is atomic and idempotent).
    this.#sweepTimer = setInterval(() => {
      // self_preservation_scope = "all": TTL checks do not expire while Eureka's self-preservation is on.
      if (this.eureka?.evictor.guardsConsul) return;
      if (this.redis.status === 'ready') this.store.sweep().catch(err => log.debug('ttl sweep failed', { err: (err as Error).message }));
    }, 200);

    await this.#startDns();

    // --- gossip (src/agent/gossip.ts): Serf membership, serfHealth reconciliation, user events, queries ---
    this.gossip = await Gossip.start(this);
    this.onStop(() => this.gossip!.stop(this.#leave));
    // --- end gossip ---

    const deps: ApiDeps = {
      config: cfg, store: this.store, redis: this.redis, connector: this.connector, acks: this.acks, view: this.view, syncer: this.syncer, notifier: this.notifier, kv: this.kv,
      nodeName: cfg.nodeName, nodeId: this.nodeId, hooks: this.hooks,
    };
    this.hooks.reload = () => this.reloadFromFiles();
    const { router, queries } = apiRouter(deps);
    // --- Eureka (src/eureka): /eureka/apps and /eureka/v2/apps, leases, eviction, self-preservation ---
    this.eureka = startEureka(router, deps);
    if (this.eureka) {
      const e = this.eureka;
      const base = this.hooks.gauges;
      this.hooks.gauges = () => [...(base?.() ?? []), ...e.gauges()];
      this.hooks.eureka = () => e.status();
      this.onStop(async () => e.stop());
    }
    // --- end Eureka ---
    {
      // dns_config.service_protection_threshold: answers widened to all instances (src/catalog/protection.ts).
      const base = this.hooks.gauges;
      this.hooks.gauges = () => [...(base?.() ?? []),
        { Name: 'roster.dns.service_protection_applied', Value: protectionStats.total, Labels: {} },
        ...[...protectionStats.byService].map(([service, n]) => ({ Name: 'roster.dns.service_protection_applied', Value: n, Labels: { service } }))];
    }
    // --- prepared queries for DNS (`<q>.query.consul`): an in-memory copy of the datacenter's queries, executed with failover ---
    queries.start();
    this.onStop(async () => queries.stop());
    this.dns?.setQueryExecutor(async (name, budgetMs) => {
      let q;
      try { q = queries.resolve(name); } catch (err) {
        if (err instanceof QueryError && err.notFound) return null;
        throw err;
      }
      const res = await executeQuery(deps, q, { limit: 0, near: '_agent', failover: true, budgetMs });
      const instances = res.Nodes.map(e => ({ node: e.Node, service: e.Service, checks: e.Checks }) as unknown as Instance);
      return { instances, dc: res.Datacenter, ttl: q.DNS.TTL ? Math.floor(parseDurationNs(q.DNS.TTL) / 1e9) : null, service: res.Service };
    });
    // --- end prepared queries ---
    // Change hints of KV, sessions, events and ACLs (src/store/hint-log.ts): one XREAD BLOCK reader, started before its subscribers load.
    const hints = this.hints = new HintLog(this.redis, this.store.keys, { deadlineMs: cfg.redisTimeoutMs, checkIntervalMs: cfg.resyncIntervalMs, conn: this.connector.create('blocking') });
    await hints.start().then(() => this.onStop(() => hints.stop()));
    // --- ACLs (src/acl, src/http/acl.ts): resolver, guard on every route, DNS token ---
    if (cfg.acl.enabled) {
      const { startAcl } = await import('./acl.ts');
      this.acl = await startAcl(this, deps, router);
      this.onStop(async () => this.acl!.resolver.stop());
    }
    // --- end ACLs ---
    // --- KV / sessions / events (src/kv/services.ts): change hints + session sweeper ---
    this.onStop(startKvBackground({ ...deps, hints }));
    // --- end KV / sessions / events ---
    // All HTTP clients together leave FD_RESERVE descriptors to Redis, DNS over TCP, checks and logs.
    const lim = openFilesLimit();
    const files = { soft: Number.isFinite(lim.soft) ? lim.soft : 0, hard: Number.isFinite(lim.hard) ? lim.hard : 0 }; // 0: unknown or unlimited
    const maxConns = files.soft > 0 ? Math.max(256, files.soft - FD_RESERVE) : 0;
    // Plain HTTP unless ports.http is -1; HTTPS beside (or instead of) it when ports.https is set.
    if (cfg.ports.http >= 0) this.httpServer = await listenHttp(router, cfg.clientAddr, cfg.ports.http, cfg.http, maxConns);
    if (cfg.ports.https >= 0) {
      const tlsFiles = () => ({ certFile: this.config.tls.certFile!, keyFile: this.config.tls.keyFile!, caFile: this.config.tls.caFile, verifyIncoming: this.config.tls.verifyIncoming });
      const https = this.httpsServer = await listenHttp(router, cfg.clientAddr, cfg.ports.https, cfg.http, maxConns, tlsFiles());
      // Reload (SIGHUP, PUT /v1/agent/reload): the certificate, key and CA are read again; new connections use them.
      this.onReload(async next => {
        if (!next.tls.certFile || !next.tls.keyFile) throw new Error('tls cert_file and key_file cannot be removed while HTTPS is on');
        const files = { ...tlsFiles(), certFile: next.tls.certFile, keyFile: next.tls.keyFile, caFile: next.tls.caFile };
        (https as unknown as { setSecureContext(o: object): void }).setSecureContext(secureContextOptions(files));
        Object.assign(this.config.tls, { certFile: files.certFile, keyFile: files.keyFile, caFile: files.caFile });
        log.info('TLS certificates reloaded', { cert_file: files.certFile });
      });
    }
    // Thousands of blocking queries leaving together: give the pages they used back (src/util/heap-trim.ts).
    const trim = startHeapTrim(this.notifier, { onTrim: (released, parked) => log.debug('parked watchers left: memory-reducing GC', { released, parked }) });
    this.onStop(async () => trim.stop());
    const addrOf = (s?: Server) => (s ? (s.address() as { port: number }).port : -1);
    // --- WAN pool (src/agent/wan.ts): federation with other datacenters, once HTTP and DNS listen (their addresses are in its tags) ---
    if (cfg.ports.serfWan >= 0) {
      const client = cfg.clientAddr.split(/\s+/).filter(Boolean)[0] ?? '127.0.0.1';
      const host = client === '0.0.0.0' || client === '::' ? cfg.advertiseAddr : client;
      const hp = (p: number) => `${host.includes(':') ? `[${host}]` : host}:${p}`;
      // A WAN join asked for while the pool starts (HTTP already answers) waits for it.
      const starting = WanPool.start(this, hp(addrOf(this.httpServer ?? this.httpsServer)), this.#dnsPort ? hp(this.#dnsPort) : '');
      this.wanStarting = starting.catch(() => undefined);
      this.wan = await starting;
      this.hooks.dcs = this.wan;
      this.wan.onDatacentersChange(() => this.dns?.clearCache());
      this.onStop(() => this.wan!.stop(this.#leave));
    }
    // --- end WAN pool ---
    // --- checks engine (src/checks): schedulers from this node's checks, in-process worker, alias, reaper ---
    // Started once the HTTP API answers (start-up time); with an embedded Redis its module was imported meanwhile.
    {
      const { CheckEngine } = await (engineModule ?? import('../checks/engine.ts'));
      const engine = new CheckEngine({
        connector: this.connector, store: this.store, view: this.view, nodeName: cfg.nodeName, workers: cfg.checksWorkers, concurrency: cfg.checksConcurrency,
        outputIntervalMs: cfg.checkUpdateIntervalMs,
        // Consul's dev-only check_reap_interval / check_deregister_interval_min (tests shorten them).
        reapIntervalMs: cfg.checkReapIntervalMs, deregisterMinMs: cfg.checkDeregisterMinMs,
        onReap: sid => local.forget('service', sid),
        scripts: cfg.enableScriptChecks || cfg.enableLocalScriptChecks,
        // self_preservation_scope = "all": Eureka's self-preservation also holds DeregisterCriticalServiceAfter reaping.
        reapPaused: () => this.eureka?.evictor.guardsConsul ?? false,
      });
      await engine.start();
      this.onStop(() => engine.stop());
    }
    // --- end checks engine ---
    log.info('Roster agent running', { version: VERSION, node: cfg.nodeName, datacenter: cfg.datacenter, http: this.httpServer ? `${cfg.clientAddr}:${addrOf(this.httpServer)}` : 'off', https: this.httpsServer ? `${cfg.clientAddr}:${addrOf(this.httpsServer)}` : 'off', redis: this.connector.display, open_files: `${files.soft}/${files.hard}`, http_max_conns: maxConns, allocator: this.allocator });
    // --- config services (src/registrar): -config-file definitions once (and on reload), each -config-dir mirrored by a
    // watching registrar (file changes and SIGHUP), all through this agent's own HTTP API ---
    {
      const { Registrar } = await import('../registrar/registrar.ts');
      const { AgentApi } = await import('../client/api.ts');
      const h = cfg.clientAddr === '0.0.0.0' || cfg.clientAddr === '::' ? '127.0.0.1' : cfg.clientAddr;
      // Config services go through the agent's own API: plain HTTP, or HTTPS with the agent's certificate as client certificate.
      const hp = `${h.includes(':') ? `[${h}]` : h}`;
      this.#selfAddr = this.httpServer ? `${hp}:${addrOf(this.httpServer)}` : `https://${hp}:${addrOf(this.httpsServer)}`;
      if (!this.httpServer) this.#selfTls = secureContextOptions({ certFile: cfg.tls.certFile!, keyFile: cfg.tls.keyFile!, caFile: cfg.tls.caFile, verifyIncoming: false });
      await this.#syncConfigServices(cfg.services);
      for (const dir of cfg.configDirs) {
        const r = new Registrar({ api: new AgentApi(this.#selfAddr, this.#agentToken(), this.#selfTls), dir });
        r.on('error', err => log.warn('config dir sync failed', { dir, err: (err as Error).message }));
        await r.start().catch(err => log.warn('config dir sync failed', { dir, err: (err as Error).message }));
        this.#dirRegistrars.push(r);
        this.onStop(async () => r.close());
      }
    }
    // --- end config services ---
  }

  /** The token this agent's own HTTP calls carry (acl.tokens.agent, else default). */
  #agentToken(): string {
    return this.acl ? this.acl.tokens.agent || this.acl.tokens.default : '';
  }

  async #syncConfigServices(services: unknown[]): Promise<void> {
    const { registerConfigServices } = await import('../registrar/registrar.ts');
    const r = await registerConfigServices(this.#selfAddr, services, 'config', this.#selfTls, this.#agentToken()).catch(err => ({ errors: [(err as Error).message], registered: [] as string[], deregister: [] as string[] }));
    for (const e of r.errors) log.warn('config service not registered', { err: e });
    if (r.registered.length || r.deregister.length) log.info('config services synced', { registered: r.registered.join(',') || '-', deregistered: r.deregister.join(',') || '-' });
  }

  /**
   * SIGHUP and PUT /v1/agent/reload: re-reads the HTTPS certificate files, node_meta, log_level,
   * -config-file services and every -config-dir, applies the new dns_config and recursors, and
   * reloads zone files. Other settings (ports, addresses, Redis) need a restart.
   */
  async reload(next: Config): Promise<void> {
    for (const fn of this.#onReload) await fn(next); // first: a failure (unreadable certificate) changes nothing else
    const metaChanged = JSON.stringify(next.nodeMeta) !== JSON.stringify(this.config.nodeMeta);
    this.config.nodeMeta = next.nodeMeta;
    if (next.logLevel !== this.config.logLevel) { this.config.logLevel = next.logLevel; setLogLevel(next.logLevel); }
    if (metaChanged) await this.registerSelf().catch(err => log.warn('node meta not synced; anti-entropy retries', { err: (err as Error).message }));
    this.config.dns = next.dns;
    this.config.recursors = next.recursors;
    if (this.acl) {
      // acl.tokens are reloadable, as in Consul (tokens set through the API since are replaced too).
      const t = next.acl.tokens;
      Object.assign(this.acl.tokens, { default: t.default ?? '', agent: t.agent ?? '', dns: t.dns ?? '', agentRecovery: t.agentRecovery ?? '' });
      this.acl.tokensChanged();
    }
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
    this.dns = new DnsServer({ view: this.view, config: this.config, log: logger('agent.dns'), dcs: () => this.hooks.dcs });
    const ports = await this.dns.listen();
    this.#dnsPort = ports.udpPort;
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

  /** Registers this agent's node, its serfHealth check and (optionally) the built-in `consul` service. */
  async registerSelf(): Promise<void> {
    await this.store.register(selfRecords(this.config, this.nodeId));
  }

  /** One anti-entropy pass: re-registers the node when missing or different, then whatever of the local state the catalog lacks. */
  async #syncLocalState(): Promise<void> {
    const cfg = this.config;
    if (this.redis.status !== 'ready') throw new Error(`Redis is unreachable (connection ${this.redis.status})`);
    let st = await this.store.loadNode(cfg.nodeName);
    if (!st || !selfInSync(st, this.config, this.nodeId)) {
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
    for (const srv of [this.httpServer, this.httpsServer]) {
      if (!srv) continue;
      srv.closeAllConnections?.();
      await new Promise<void>(r => srv.close(() => r()));
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

