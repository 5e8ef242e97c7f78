/**
 * @module Every metric the agent records, under Consul's names where Consul has one (so existing
 * dashboards and alerts work) and `roster.*` for Roster's own. Recording sites import these families;
 * gauges read at scrape time get their reader from the part that owns the value (`metrics.gauge(...)`).
 */
import { metrics } from './registry.ts';

const m = metrics;

// DNS (src/dns): timers in ms, labelled with this agent's node name, as Consul's.
export const dnsDomainQuery = m.sample('consul.dns.domain_query', 'Measures the time spent handling a domain query for the given node.', ['node']);
export const dnsPtrQuery = m.sample('consul.dns.ptr_query', 'Measures the time spent handling a reverse DNS query for the given node.', ['node']);
export const dnsStaleQueries = m.counter('consul.dns.stale_queries', 'Increments when an agent serves a query within the allowed stale threshold.');
export const dnsResponses = m.counter('roster.dns.responses', 'DNS responses sent, by response code.', ['rcode']);

// HTTP API (src/http).
export const apiHttp = m.sample('consul.api.http', 'Samples how long it takes to service the given HTTP request for the given verb and path.', ['method', 'path']);

// Catalog, KV, sessions, transactions, health (the HTTP routes that write or read them).
export const catalogRegister = m.sample('consul.catalog.register', 'Measures the time it takes to complete a catalog register operation.');
export const catalogDeregister = m.sample('consul.catalog.deregister', 'Measures the time it takes to complete a catalog deregister operation.');
export const catalogServiceQuery = m.counter('consul.catalog.service.query', 'Increments for each catalog query for the given service.', ['service']);
export const catalogServiceNotFound = m.counter('consul.catalog.service.not-found', 'Increments for each catalog query where the given service could not be found.', ['service']);
export const healthServiceQuery = m.counter('consul.health.service.query', 'Increments for each health query for the given service.', ['service']);
export const healthServiceNotFound = m.counter('consul.health.service.not-found', 'Increments for each health query where the given service could not be found.', ['service']);
export const kvsApply = m.sample('consul.kvs.apply', 'Measures the time it takes to complete an update to the KV store.');
export const sessionApply = m.sample('consul.session.apply', 'Measures the time spent applying a session update.');
export const sessionRenew = m.sample('consul.session.renew', 'Measures the time spent renewing a session.');
export const txnApply = m.sample('consul.txn.apply', 'Measures the time spent applying a transaction operation.');

// Catalog view and its syncer (src/catalog).
export const syncerResyncs = m.counter('roster.syncer.resyncs', 'Full reloads of the DNS view from Redis, by reason.', ['reason']);
// Change hints (src/store/hint-log.ts).
export const hintsLost = m.counter('roster.hints.lost', 'Times the change hints stream no longer followed on from the agent\'s position (trimmed, deleted or recreated, a snapshot restored, a stuck reader): every KV, session and event watcher was woken and the ACL policies reloaded.');

// Redis (src/store).
export const redisCommand = m.sample('roster.redis.command', 'Time Redis took to answer a command of the agent (ms), by role of the connection.', ['role']);
export const redisErrors = m.counter('roster.redis.errors', 'Redis commands that failed or timed out, by role of the connection.', ['role']);
export const redisReconnects = m.counter('roster.redis.reconnects', 'Redis connections lost and being made again (a Cluster: the whole cluster, or one node), by role of the connection.', ['role']);

// Health checks (src/checks).
export const LATENESS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] as const;
export const checkRuns = m.counter('roster.check.runs', 'Check runs started by this process, by check type.', ['type']);
export const checkResults = m.counter('roster.check.results', 'Check results recorded, by status.', ['status']);
export const checkLateness = m.histogram('roster.check.lateness_seconds', LATENESS_BUCKETS, 'How late check runs start after their scheduled time (seconds).');

// Gossip (src/gossip through the agent): serf member events, memberlist messages.
export const serfMember = {
  join: m.counter('consul.serf.member.join', 'Increments when an agent joins the cluster.', ['network']),
  left: m.counter('consul.serf.member.left', 'Increments when an agent leaves the cluster.', ['network']),
  failed: m.counter('consul.serf.member.failed', 'Increments when an agent is marked dead.', ['network']),
  flap: m.counter('consul.serf.member.flap', 'Available in Consul 0.7 and later, this increments when an agent is marked dead and then recovers within a short time period.', ['network']),
  update: m.counter('consul.serf.member.update', 'Increments when an agent updates.', ['network']),
};
export const memberlistMsg = {
  alive: m.counter('consul.memberlist.msg.alive', 'Counts the number of alive messages that the agent has processed.', ['network']),
  suspect: m.counter('consul.memberlist.msg.suspect', 'The number of agents that were suspected to be dead.', ['network']),
  dead: m.counter('consul.memberlist.msg.dead', 'The number of times an agent was marked dead.', ['network']),
};

// Router (`roster router`, on its -metrics port). The client library's are in src/client/metrics.ts (a hook for the host program).
export const routerRequests = m.counter('roster.router.requests', 'Requests proxied by the router, by service and status class.', ['service', 'code']);
export const routerUpstreamErrors = m.counter('roster.router.upstream_errors', 'Upstream connection errors and timeouts seen by the router, by service.', ['service']);
export const routerEjections = m.counter('roster.router.ejections', 'Instances ejected by the router\'s outlier detection, by service.', ['service']);
