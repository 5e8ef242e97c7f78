/**
 * @module Request-body decoding with Go encoding/json's rules, as Consul applies them.
 *
 * Field names match exactly first, then case-insensitively; the listed snake_case aliases are
 * accepted; an unknown field is rejected with `Request decode failed: json: unknown field "X"`
 * (unless the schema is lenient). Durations accept Go strings ("10s", "1.5s") or nanoseconds.
 * Map values keep their keys verbatim.
 */
import { HttpError } from './server.ts';
import { MAX_DURATION_NS, parseDurationNs } from '../util/duration.ts';

export type FieldType =
  | 'string' | 'int' | 'uint' | 'bool' | 'duration' | 'strings' | 'stringMap' | 'headerMap' | 'any'
  | { object: Schema } | { array: Schema };

export interface Schema {
  fields: Record<string, FieldType>;
  /** snake_case (or other) aliases → canonical field name. */
  aliases?: Record<string, string>;
  /** Ignore unknown fields instead of rejecting them. */
  lenient?: boolean;
}

function fail(msg: string): never {
  throw new HttpError(400, `Request decode failed: ${msg}`);
}

/** Decodes a JSON value against a schema into an object keyed by canonical field names. */
export function decode(value: unknown, schema: Schema, path = ''): Record<string, unknown> {
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) fail(`json: cannot unmarshal ${jsonKind(value)} into Go value of type ${path || 'struct'}`);
  const out: Record<string, unknown> = {};
  const lowerMap = new Map<string, string>();
  for (const f of Object.keys(schema.fields)) lowerMap.set(f.toLowerCase(), f);
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    let name: string | undefined = schema.fields[k] !== undefined ? k : schema.aliases?.[k] ?? lowerMap.get(k.toLowerCase());
    if (name === undefined) {
      if (schema.lenient) continue;
      fail(`json: unknown field "${k}"`);
    }
    if (v === null) continue;
    out[name] = coerce(v, schema.fields[name]!, name);
  }
  return out;
}

function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  if (typeof v === 'bigint') return 'number';
  return typeof v === 'object' ? 'object' : typeof v;
}

function coerce(v: unknown, t: FieldType, name: string): unknown {
  if (typeof t === 'object') {
    if ('object' in t) return decode(v, t.object, name);
    if (!Array.isArray(v)) fail(`json: cannot unmarshal ${jsonKind(v)} into Go struct field .${name} of type []struct`);
    return v.map(x => decode(x, t.array, name));
  }
  switch (t) {
    case 'string':
      if (typeof v !== 'string') fail(`json: cannot unmarshal ${jsonKind(v)} into Go struct field .${name} of type string`);
      return v;
    case 'int':
    case 'uint':
      // An integer past 2^53 (a BigInt from parseJson) is kept to its type's range, then used as a number.
      if (typeof v === 'bigint') {
        if (t === 'uint' ? v < 0n || v > 0xffffffffffffffffn : v < -(2n ** 63n) || v >= 2n ** 63n) fail(`json: cannot unmarshal number ${v} into Go struct field .${name} of type ${t}64`);
        return Number(v);
      }
      if (typeof v !== 'number' || !Number.isInteger(v) || (t === 'uint' && v < 0)) fail(`json: cannot unmarshal ${jsonKind(v)} into Go struct field .${name} of type ${t}`);
      return v;
    case 'bool':
      if (typeof v !== 'boolean') fail(`json: cannot unmarshal ${jsonKind(v)} into Go struct field .${name} of type bool`);
      return v;
    case 'duration':
      if (typeof v === 'number') {
        // Go decodes a number into time.Duration's int64: fractions and values past it are refused.
        if (!Number.isInteger(v) || Math.abs(v) > MAX_DURATION_NS) fail(`json: cannot unmarshal number ${v} into Go struct field .${name} of type time.Duration`);
        return formatNs(v);
      }
      if (typeof v !== 'string') fail(`json: cannot unmarshal ${jsonKind(v)} into Go struct field .${name} of type time.Duration`);
      if (v === '') return '';
      try {
        parseDurationNs(v);
      } catch {
        fail(`time: invalid duration "${v}"`);
      }
      return v;
    case 'strings':
      if (!Array.isArray(v) || v.some(x => typeof x !== 'string')) fail(`json: cannot unmarshal ${jsonKind(v)} into Go struct field .${name} of type []string`);
      return v;
    case 'stringMap':
      if (typeof v !== 'object' || Array.isArray(v) || Object.values(v as object).some(x => typeof x !== 'string')) fail(`json: cannot unmarshal ${jsonKind(v)} into Go struct field .${name} of type map[string]string`);
      return v;
    case 'headerMap':
      if (typeof v !== 'object' || Array.isArray(v)) fail(`json: cannot unmarshal ${jsonKind(v)} into Go struct field .${name} of type map[string][]string`);
      for (const x of Object.values(v as object)) if (!Array.isArray(x) || x.some(y => typeof y !== 'string')) fail(`json: cannot unmarshal into Go struct field .${name} of type []string`);
      return v;
    default:
      return v;
  }
}

function formatNs(ns: number): string {
  return `${ns}ns`;
}

/** Consul's CheckType fields (checks in service definitions and /agent/check/register). */
export const CHECK_FIELDS: Record<string, FieldType> = {
  CheckID: 'string', ID: 'string', Name: 'string', Status: 'string', Notes: 'string', ServiceID: 'string',
  ScriptArgs: 'strings', Args: 'strings', HTTP: 'string', Header: 'headerMap', Method: 'string', Body: 'string', DisableRedirects: 'bool',
  TCP: 'string', TCPUseTLS: 'bool', UDP: 'string', Interval: 'duration', AliasNode: 'string', AliasService: 'string',
  DockerContainerID: 'string', Shell: 'string', GRPC: 'string', GRPCUseTLS: 'bool', OSService: 'string', TLSServerName: 'string',
  TLSSkipVerify: 'bool', Timeout: 'duration', TTL: 'duration', H2PING: 'string', H2PingUseTLS: 'bool',
  SuccessBeforePassing: 'int', FailuresBeforeWarning: 'int', FailuresBeforeCritical: 'int', ProxyHTTP: 'string', ProxyGRPC: 'string',
  DeregisterCriticalServiceAfter: 'duration', OutputMaxSize: 'int', Namespace: 'string', Partition: 'string',
};

export const CHECK_ALIASES: Record<string, string> = {
  deregister_critical_service_after: 'DeregisterCriticalServiceAfter', script_args: 'ScriptArgs', args: 'ScriptArgs',
  docker_container_id: 'DockerContainerID', tls_server_name: 'TLSServerName', tls_skip_verify: 'TLSSkipVerify', tcp_use_tls: 'TCPUseTLS',
  grpc_use_tls: 'GRPCUseTLS', h2ping_use_tls: 'H2PingUseTLS', service_id: 'ServiceID', disable_redirects: 'DisableRedirects',
  success_before_passing: 'SuccessBeforePassing', failures_before_critical: 'FailuresBeforeCritical', failures_before_warning: 'FailuresBeforeWarning',
  output_max_size: 'OutputMaxSize', alias_node: 'AliasNode', alias_service: 'AliasService',
};

export const CHECK_SCHEMA: Schema = { fields: CHECK_FIELDS, aliases: CHECK_ALIASES };

const WEIGHTS_SCHEMA: Schema = { fields: { Passing: 'int', Warning: 'int' } };
const TAGGED_ADDR_SCHEMA: Schema = { fields: { Address: 'string', Port: 'int' } };

/** Consul's ServiceDefinition (PUT /v1/agent/service/register and config files). */
export const SERVICE_SCHEMA: Schema = {
  fields: {
    Kind: 'string', ID: 'string', Name: 'string', Tags: 'strings', Address: 'string', TaggedAddresses: 'any', Meta: 'stringMap',
    Port: 'int', SocketPath: 'string', Weights: { object: WEIGHTS_SCHEMA }, Check: { object: CHECK_SCHEMA }, Checks: { array: CHECK_SCHEMA },
    EnableTagOverride: 'bool', Proxy: 'any', Connect: 'any', Namespace: 'string', Partition: 'string', Locality: 'any', Token: 'string',
  },
  aliases: { enable_tag_override: 'EnableTagOverride', tagged_addresses: 'TaggedAddresses' },
};

/** Validates a service TaggedAddresses map: name → {Address, Port}. */
export function decodeTaggedAddresses(v: unknown): Record<string, { Address: string; Port: number }> {
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('json: cannot unmarshal into Go struct field .TaggedAddresses of type map[string]structs.ServiceAddress');
  const out: Record<string, { Address: string; Port: number }> = {};
  for (const [k, x] of Object.entries(v)) {
    const d = decode(x, TAGGED_ADDR_SCHEMA, 'TaggedAddresses');
    out[k] = { Address: (d.Address as string) ?? '', Port: (d.Port as number) ?? 0 };
  }
  return out;
}

/** A Locality ({Region, Zone}); undefined when absent or empty. */
export function decodeLocality(v: unknown): { Region?: string; Zone?: string } | undefined {
  if (v === undefined || v === null) return undefined;
  const d = decode(v, { fields: { Region: 'string', Zone: 'string' } }, 'Locality');
  const out: { Region?: string; Zone?: string } = {};
  if (d.Region) out.Region = d.Region as string;
  if (d.Zone) out.Zone = d.Zone as string;
  return out.Region || out.Zone ? out : undefined;
}

/** Consul's metadata limits (agent/structs): pairs, key and value lengths, key characters, reserved prefix. */
const META_MAX_PAIRS = 64;
const META_KEY_MAX = 128;
const META_VALUE_MAX = 512;
const META_KEY_FORMAT = /^[a-zA-Z0-9_-]+$/;

/**
 * Validates service or node meta as Consul's ValidateServiceMetadata / ValidateNodeMetadata do
 * (lengths in bytes, as Go's len); throws 400 `<prefix>: <Consul's message>`.
 */
export function validateMeta(meta: Record<string, string> | undefined, prefix: string): void {
  if (!meta) return;
  const keys = Object.keys(meta);
  if (keys.length > META_MAX_PAIRS) throw new HttpError(400, `${prefix}: Node metadata cannot contain more than ${META_MAX_PAIRS} key/value pairs`);
  for (const k of keys) {
    const v = meta[k]!;
    let why = '';
    if (k === '') why = 'Key cannot be blank';
    else if (!META_KEY_FORMAT.test(k)) why = 'Key contains invalid characters';
    else if (k.length > META_KEY_MAX) why = `Key is too long (limit: ${META_KEY_MAX} characters)`;
    else if (k.startsWith('consul-')) why = "Key prefix 'consul-' is reserved for internal use";
    else if (Buffer.byteLength(v) > META_VALUE_MAX) why = `Value is too long (limit: ${META_VALUE_MAX} characters)`;
    if (why) throw new HttpError(400, `${prefix}: Couldn't load metadata pair ('${k}', '${v}'): ${why}`);
  }
}
