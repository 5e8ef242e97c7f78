/** @module The metrics registry and its renderings (see registry.ts). */
export { metrics, promName, MetricsRegistry, type Family, type Series, type Labels, type TelemetrySettings } from './registry.ts';
export { renderJson, goTime, type JsonGauge, type JsonMetrics } from './json.ts';
export { PrometheusExporter, PROMETHEUS_CONTENT_TYPE } from './prometheus.ts';
export { startRuntimeMetrics } from './runtime.ts';
export * as M from './names.ts';
