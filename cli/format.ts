/** Small presentation helpers for the CLI: tables (cli-table3) and colours (picocolors). */
import Table from 'cli-table3';
import pc from 'picocolors';

export function table(head: string[], rows: (string | number)[][]): string {
  const t = new Table({ head: head.map((h) => pc.bold(h)), style: { head: [], border: [] } });
  for (const r of rows) t.push(r.map((c) => String(c)));
  return t.toString();
}

const STATE_COLOURS: Record<string, (s: string) => string> = {
  closed: pc.green,
  half_open: pc.yellow,
  open: pc.red,
  forced_open: pc.magenta,
  disabled: pc.gray,
};

export function state(s: string | null | undefined): string {
  if (!s) return pc.gray('—');
  return (STATE_COLOURS[s] ?? ((x: string) => x))(s);
}

const STATUS_COLOURS: Record<string, (s: string) => string> = {
  succeeded: pc.green,
  partial: pc.yellow,
  failed: pc.red,
  cancelled: pc.gray,
  running: pc.cyan,
};

export function status(s: string | null | undefined): string {
  if (!s) return pc.gray('—');
  return (STATUS_COLOURS[s] ?? ((x: string) => x))(s);
}

const LEVEL_COLOURS: Record<string, (s: string) => string> = {
  debug: pc.gray,
  info: pc.blue,
  warn: pc.yellow,
  error: pc.red,
};

export function level(s: string): string {
  return (LEVEL_COLOURS[s] ?? ((x: string) => x))(s);
}

export function pct(v: unknown): string {
  if (v === null || v === undefined) return pc.gray('—');
  return `${Math.round(Number(v) * 10) / 10}%`;
}

export function ms(v: unknown): string {
  if (v === null || v === undefined) return pc.gray('—');
  const n = Number(v);
  return n >= 10_000 ? `${(n / 1000).toFixed(1)} s` : `${Math.round(n)} ms`;
}

export function time(v: unknown): string {
  if (v === null || v === undefined) return pc.gray('—');
  const d = new Date(String(v));
  return Number.isNaN(d.getTime()) ? String(v) : d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function json(v: unknown): string {
  if (v === null || v === undefined) return pc.gray('null');
  return text(JSON.stringify(v)); // JSON already escapes control characters; text() bounds the length
}

export function dim(s: string): string {
  return pc.gray(s);
}

/** A failure share (percent); in red when it stands out from the other workers'. */
export function share(v: number | null, standsOut: boolean): string {
  if (v === null) return pc.gray('—');
  const text = `${Math.round(v * 10) / 10}%`;
  return standsOut ? pc.red(pc.bold(`${text} ◀`)) : text;
}

/** A success rate (percent, 0–100) over n runs, coloured by how healthy it is. */
export function rate(v: number | null | undefined, n: number): string {
  if (v === null || v === undefined || n === 0) return pc.gray('—');
  const text = `${Math.round(v)}% of ${n}`;
  return v >= 90 ? pc.green(text) : v >= 50 ? pc.yellow(text) : pc.red(text);
}

/** Longest text shown in one cell; the rest is counted, not printed. */
export const MAX_TEXT = 1000;

/**
 * Text that came from scraped pages or workers, made safe to print: control characters
 * (an ESC would let a scraped page drive the operator's terminal) shown as \u escapes,
 * and anything past MAX_TEXT characters replaced by how much was left out.
 */
export function text(v: string | null | undefined, max: number = MAX_TEXT): string {
  if (v === null || v === undefined) return '';
  const chars = Array.from(v);
  const shown = chars.length > max ? chars.slice(0, max).join('') : v;
  // eslint-disable-next-line no-control-regex
  const safe = shown.replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return chars.length > max ? `${safe}… (+${(chars.length - max).toLocaleString('en')} characters)` : safe;
}
