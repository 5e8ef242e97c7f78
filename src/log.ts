/**
 * @module Structured logging: `logger('dns').info('msg', { key: value })` writes one line to stderr.
 *
 * Every line is redacted before it is written: the password of any URL (`redis://:pw@host` →
 * `redis://:[redacted]@host`), `token=`/`password=` query parameters, the values of fields named
 * like secrets (password, token, encrypt, secret, key), and every string registered with
 * `registerSecret` (the gossip key, the Redis password) wherever it appears.
 */

export type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { trace: 0, debug: 1, info: 2, warn: 3, error: 4 };
let threshold = ORDER.info;
let json = false;

/**
 * A reader of the log besides stderr (`/v1/agent/monitor`): gets every line at or above its own
 * level, whatever the agent's, already redacted, in text or JSON form. `line` must not block or log.
 */
export interface LogSubscriber { level: Level; json: boolean; line(text: string): void }
const subscribers = new Set<LogSubscriber>();
/** The lowest level some subscriber wants (Infinity = none). */
let subMin = Infinity;

/** Adds a subscriber; returns its removal. */
export function subscribeLog(s: LogSubscriber): () => void {
  subscribers.add(s);
  subMin = Math.min(subMin, ORDER[s.level]);
  return () => {
    subscribers.delete(s);
    subMin = Infinity;
    for (const x of subscribers) subMin = Math.min(subMin, ORDER[x.level]);
  };
}

/** How many subscribers are attached (tests: a closed monitor leaves none behind). */
export function logSubscriberCount(): number { return subscribers.size; }

/** Consul's log level names (logging.ValidateLogLevel): trace, debug, info, warn, err/error, any case; null if unknown. */
export function parseLevel(v: string): Level | null {
  const l = v.toLowerCase();
  if (l === 'err') return 'error';
  return l in ORDER ? l as Level : null;
}

/** Sets the global level (and optionally JSON lines) for every logger. */
export function setLogLevel(level: Level, asJson?: boolean): void {
  threshold = ORDER[level] ?? ORDER.info;
  if (asJson !== undefined) json = asJson;
}

const REDACTED = '[redacted]';
const secrets = new Set<string>();
const SECRET_FIELD = /pass(word)?|secret|token|encrypt|^key$|_key$|Key$/i;

/** Registers a secret value: it is replaced by `[redacted]` wherever it appears in a log line. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 4) secrets.add(value);
}

/** Removes secrets from one piece of log text (see the module comment). */
export function redact(text: string): string {
  let out = text
    .replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s"]*:)[^@\s"]+@/gi, `$1${REDACTED}@`)
    .replace(/([?&](?:token|password|pass|secret)=)[^&\s"]+/gi, `$1${REDACTED}`);
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join(REDACTED);
  return out;
}

function redactFields(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) out[k] = SECRET_FIELD.test(k) && typeof v === 'string' && v !== '' ? REDACTED : v;
  return out;
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
    const o = ORDER[level];
    if (o < threshold && o < subMin) return;
    const ts = new Date().toISOString();
    if (fields) fields = redactFields(fields);
    let asJson: string | null = null;
    let asText: string | null = null;
    const jsonLine = () => (asJson ??= redact(JSON.stringify({ '@timestamp': ts, '@level': level, '@module': name, '@message': msg, ...fields })) + '\n');
    const textLine = () => {
      if (asText !== null) return asText;
      let line = `${ts} [${level.toUpperCase()}]${' '.repeat(6 - level.length)}${name}: ${msg}`;
      if (fields) for (const [k, v] of Object.entries(fields)) line += ` ${k}=${typeof v === 'string' ? (/\s/.test(v) ? JSON.stringify(v) : v) : v instanceof Error ? JSON.stringify(v.message) : JSON.stringify(v)}`;
      return (asText = redact(line) + '\n');
    };
    if (o >= threshold) process.stderr.write(json ? jsonLine() : textLine());
    if (o >= subMin) for (const s of subscribers) if (o >= ORDER[s.level]) s.line(s.json ? jsonLine() : textLine());
  };
  return {
    trace: (m, f) => write('trace', m, f), debug: (m, f) => write('debug', m, f), info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f), error: (m, f) => write('error', m, f), enabled: l => ORDER[l] >= threshold || ORDER[l] >= subMin,
  };
}
