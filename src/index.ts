/** @module The `roster` package: the client library (`import { connect } from 'roster'`). */
export { connect, RosterClient, type ConnectOptions, type ServiceFetchInit } from './client/client.ts';
export { Registration, serviceDefinition } from './client/registration.ts';
export { Discovery, NoInstancesError, type DiscoverOptions } from './client/discovery.ts';
export { createStrategy, STRATEGIES, type Strategy } from './client/strategies.ts';
export { Ejector } from './client/outlier.ts';
export { lookupSrv } from './client/dns.ts';
export { ApiError } from './client/api.ts';
export type { Instance, RegisterOptions, CheckOptions, StrategyName } from './client/types.ts';
export { registerMetricsHook, enableClientMetrics, type ClientMetricsHook } from './client/metrics.ts';
