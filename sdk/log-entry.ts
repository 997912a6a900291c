/**
 * Makes whatever a scraper logs storable by append_logs, when it is logged: so a batch the
 * database refuses is the exception, not the rule.
 *
 * The limits are append_logs' own checks (and scraping_logs' constraints):
 *  - a message is at most 16,384 characters (char_length: code points);
 *  - metadata is a JSON object of at most 8,192 bytes as jsonb prints it (octet_length of
 *    metadata::text: UTF-8, with ", " and ": " between items, numbers in plain notation);
 *  - text holds no NUL (PostgreSQL text cannot) and JSON no \u0000 or lone surrogate (jsonb
 *    refuses both).
 *
 * Rules (docs/database.md, "The logger's normalisation rules"):
 *  - NUL characters are removed; a lone surrogate (text cut mid-emoji) becomes U+FFFD.
 *  - BigInt → its decimal string; Date → ISO string ("Invalid Date" when invalid); Error →
 *    {name, message, code?, cause?, stack, …own fields}; Map → object (keys as strings); Set →
 *    array; typed arrays and buffers → "[Uint8Array: n bytes]"; NaN/±Infinity → "NaN",
 *    "Infinity", "-Infinity"; objects with toJSON() → its result; undefined, functions and
 *    symbols are left out (null inside arrays), as JSON.stringify does; a reference back to an
 *    enclosing object → "[Circular]"; deeper than 32 levels → "[Too deep]"; a property whose
 *    getter throws → "[Unreadable: message]".
 *  - Metadata that is not an object is wrapped: {"value": …}.
 *  - A message over the limit keeps its first characters and ends with
 *    " …[truncated: N characters in all]".
 *  - Metadata over the limit is replaced by
 *    {"metadata_truncated": {"original_bytes": N, "limit_bytes": 8192}, "preview": "<its JSON text, cut>…"}.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** append_logs: `char_length(message) <= 16384`. */
export const MESSAGE_MAX_CHARS = 16384;
/** append_logs: `octet_length(metadata::text) <= 8192`. */
export const METADATA_MAX_BYTES = 8192;
/** Nesting kept in metadata (deeper values become "[Too deep]"). */
export const METADATA_MAX_DEPTH = 32;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Text PostgreSQL can store: NUL removed, lone surrogates replaced by U+FFFD. */
export function storableText(text: string): string {
  return text.replace(/\u0000/g, '').replace(LONE_SURROGATE, '\uFFFD');
}

/** Length in code points (PostgreSQL's char_length of the UTF-8 text). */
export function codePointLength(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length - 1; i += 1) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n -= 1;
        i += 1;
      }
    }
  }
  return n;
}

/** The first `count` code points of a well-formed string. */
function firstCodePoints(text: string, count: number): string {
  let i = 0;
  for (let seen = 0; seen < count && i < text.length; seen += 1) {
    const c = text.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < text.length ? 2 : 1;
  }
  return text.slice(0, i);
}

/**
 * Storable text of at most `maxChars` code points; a longer one is cut and ends with a marker
 * giving its original length.
 */
export function storableMessage(text: string, maxChars = MESSAGE_MAX_CHARS): string {
  const clean = storableText(text);
  const length = codePointLength(clean);
  if (length <= maxChars) return clean;
  const marker = ` …[truncated: ${length} characters in all]`;
  return firstCodePoints(clean, Math.max(0, maxChars - codePointLength(marker))) + marker;
}

function describeThrown(err: unknown): string {
  try {
    return storableText(err instanceof Error ? err.message : String(err));
  } catch {
    return 'unknown error';
  }
}

/** Sets a key as an own property, "__proto__" included (plain assignment would set the prototype). */
function setKey(out: JsonObject, key: string, value: Json): void {
  Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A value as storable JSON (see the rules above); undefined means "leave out". */
function toJson(value: unknown, depth: number, ancestors: Set<object>): Json | undefined {
  switch (typeof value) {
    case 'string':
      return storableText(value);
    case 'number':
      if (Number.isFinite(value)) return Object.is(value, -0) ? 0 : value;
      return String(value);
    case 'boolean':
      return value;
    case 'bigint':
      return value.toString();
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
  }
  if (value === null) return null;
  const obj = value as object;
  if (depth >= METADATA_MAX_DEPTH) return '[Too deep]';
  if (ancestors.has(obj)) return '[Circular]';
  ancestors.add(obj);
  try {
    return objectToJson(obj, depth, ancestors);
  } catch (err) {
    return `[Unreadable: ${describeThrown(err)}]`;
  } finally {
    ancestors.delete(obj);
  }
}

function objectToJson(obj: object, depth: number, ancestors: Set<object>): Json {
  const next = (v: unknown) => toJson(v, depth + 1, ancestors);
  if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? 'Invalid Date' : obj.toISOString();
  if (ArrayBuffer.isView(obj)) return `[${obj.constructor.name}: ${obj.byteLength} bytes]`;
  if (obj instanceof ArrayBuffer) return `[ArrayBuffer: ${obj.byteLength} bytes]`;
  // Array.from visits the holes of a sparse array (map would keep them as holes).
  if (Array.isArray(obj)) return Array.from(obj, (v: unknown) => next(v) ?? null);
  if (obj instanceof Set) return [...obj].map((v) => next(v) ?? null);
  if (obj instanceof Map) {
    const out: JsonObject = {};
    for (const [k, v] of obj) {
      const j = next(v);
      if (j !== undefined) setKey(out, storableText(typeof k === 'string' ? k : String(k)), j);
    }
    return out;
  }
  if (obj instanceof RegExp) return storableText(String(obj));
  if (obj instanceof Error) {
    const out: JsonObject = { name: storableText(obj.name), message: storableText(obj.message) };
    const code = (obj as { code?: unknown }).code;
    if (code !== undefined) out.code = next(code) ?? null;
    if (obj.cause !== undefined) out.cause = next(obj.cause) ?? null;
    copyOwnFields(obj, out, next, new Set(['name', 'message', 'code', 'cause', 'stack']));
    if (typeof obj.stack === 'string') out.stack = storableText(obj.stack);
    return out;
  }
  const toJSON = (obj as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    const replaced: unknown = toJSON.call(obj);
    if (replaced !== obj) return next(replaced) ?? null;
  }
  const out: JsonObject = {};
  copyOwnFields(obj, out, next, new Set());
  return out;
}

function copyOwnFields(obj: object, out: JsonObject, next: (v: unknown) => Json | undefined, skip: Set<string>): void {
  for (const key of Object.keys(obj)) {
    if (skip.has(key)) continue;
    let j: Json | undefined;
    try {
      j = next((obj as Record<string, unknown>)[key]);
    } catch (err) {
      j = `[Unreadable: ${describeThrown(err)}]`;
    }
    if (j !== undefined) setKey(out, storableText(key), j);
  }
}

/** Any value as storable JSON (never throws). */
export function toStorableJson(value: unknown): Json {
  try {
    return toJson(value, 0, new Set()) ?? null;
  } catch (err) {
    return `[Unreadable: ${describeThrown(err)}]`;
  }
}

/** Characters of a JSON number as PostgreSQL's numeric prints it (plain notation, never an exponent). */
export function pgNumberLength(n: number): number {
  const text = JSON.stringify(n);
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/.exec(text);
  if (!m) return text.length;
  const [, sign = '', int = '', frac = '', exp = '0'] = m;
  const e = Number(exp);
  const digits = (int + frac).replace(/^0+(?=\d)/, '');
  const leadingZeros = (int + frac).length - digits.length;
  // The decimal point sits after `point` digits of `digits`.
  const point = int.length - leadingZeros + e;
  const scale = Math.max(0, frac.length - e);
  const intLength = point > 0 ? point : 1;
  return sign.length + intLength + (scale > 0 ? 1 + scale : 0);
}

function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Bytes of a storable JSON value as jsonb prints it (octet_length(value::text)). */
export function jsonbTextBytes(value: Json): number {
  if (value === null) return 4;
  if (value === true) return 4;
  if (value === false) return 5;
  if (typeof value === 'number') return pgNumberLength(value);
  if (typeof value === 'string') return utf8Length(JSON.stringify(value));
  if (Array.isArray(value)) {
    let n = 2 + Math.max(0, value.length - 1) * 2;
    for (const v of value) n += jsonbTextBytes(v);
    return n;
  }
  const keys = Object.keys(value);
  let n = 2 + Math.max(0, keys.length - 1) * 2;
  for (const k of keys) n += utf8Length(JSON.stringify(k)) + 2 + jsonbTextBytes(value[k] as Json);
  return n;
}

export interface StorableMetadata {
  value: JsonObject;
  /** Its size as append_logs measures it. */
  bytes: number;
  /** Set when the original was over the limit and was replaced by a preview. */
  originalBytes?: number;
}

/** Metadata as a storable JSON object of at most `maxBytes` (see the rules above). */
export function storableMetadata(metadata: unknown, maxBytes = METADATA_MAX_BYTES): StorableMetadata {
  if (metadata === undefined || metadata === null) return { value: {}, bytes: 2 };
  const json = toStorableJson(metadata);
  const value: JsonObject =
    json !== null && typeof json === 'object' && !Array.isArray(json) ? json : { value: json };
  const bytes = jsonbTextBytes(value);
  if (bytes <= maxBytes) return { value, bytes };

  const text = JSON.stringify(value);
  const build = (chars: number): JsonObject => {
    let cut = text.slice(0, chars);
    const last = cut.charCodeAt(cut.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
    return { metadata_truncated: { original_bytes: bytes, limit_bytes: maxBytes }, preview: `${cut}…` };
  };
  // The longest preview that fits (escaping makes the JSON of the preview longer than its text).
  let lo = 0;
  let hi = Math.min(text.length, maxBytes);
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (jsonbTextBytes(build(mid)) <= maxBytes) lo = mid;
    else hi = mid - 1;
  }
  const replaced = build(lo);
  return { value: replaced, bytes: jsonbTextBytes(replaced), originalBytes: bytes };
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** One entry as append_logs takes it. */
export type StorableLogEntry = {
  level: LogLevel;
  message: string;
  metadata: JsonObject;
  at?: string;
};

const LEVELS: ReadonlySet<string> = new Set(['debug', 'info', 'warn', 'error']);

/** Normalise one log call into an entry append_logs accepts. Never throws. */
export function storableLogEntry(level: LogLevel, message: unknown, metadata?: unknown, at?: string): StorableLogEntry {
  const text = typeof message === 'string' ? message : jsonText(toStorableJson(message));
  const entry: StorableLogEntry = {
    level: LEVELS.has(level) ? level : 'info',
    message: storableMessage(text),
    metadata: storableMetadata(metadata).value,
  };
  if (at !== undefined) entry.at = at;
  return entry;
}

function jsonText(value: Json): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * The text of an error as scrapeguard stores it (a breaker's last_error, a run's
 * error_message): its message (or String() of a non-Error), made storable. Never throws.
 */
export function errorMessageOf(error: unknown): string {
  try {
    if (error instanceof Error) return storableText(error.message);
    if (typeof error === 'string') return storableText(error);
    const json = toStorableJson(error);
    return typeof json === 'string' ? json : JSON.stringify(json);
  } catch {
    return 'unknown error';
  }
}
