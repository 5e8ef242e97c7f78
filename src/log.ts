/** @module Structured logging: `logger('dns').info('msg', { key: value })` writes one line to stderr. */

export type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { trace: 0, debug: 1, info: 2, warn: 3, error: 4 };
let threshold = ORDER.info;
let json = false;

/** Sets the global level (and optionally JSON lines) for every logger. */
export function setLogLevel(level: Level, asJson = false): void {
  threshold = ORDER[level] ?? ORDER.info;
  json = asJson;
}

export interface Logger {
  trace(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  enabled(level: Level): boolean;
}

/** A logger for one subsystem; lines look like Consul's: `2026-11-24T05:00:00.000Z [INFO]  agent.dns: msg: key=value`. */
export function logger(name: string): Logger {
  const write = (level: Level, msg: string, fields?: Record<string, unknown>): void => {
    if (ORDER[level] < threshold) return;
    const ts = new Date().toISOString();
    if (json) {
      process.stderr.write(JSON.stringify({ '@timestamp': ts, '@level': level, '@module': name, '@message': msg, ...fields }) + '\n');
      return;
    }
    let line = `${ts} [${level.toUpperCase()}]${' '.repeat(6 - level.length)}${name}: ${msg}`;
    if (fields) for (const [k, v] of Object.entries(fields)) line += ` ${k}=${typeof v === 'string' ? (/\s/.test(v) ? JSON.stringify(v) : v) : v instanceof Error ? JSON.stringify(v.message) : JSON.stringify(v)}`;
    process.stderr.write(line + '\n');
  };
  return {
    trace: (m, f) => write('trace', m, f), debug: (m, f) => write('debug', m, f), info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f), error: (m, f) => write('error', m, f), enabled: l => ORDER[l] >= threshold,
  };
}
