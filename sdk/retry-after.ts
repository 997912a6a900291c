/**
 * A site's Retry-After (HTTP 429/503) as record_failure takes it: an interval of 0 to
 * 365 days. The site gives seconds or a date; a date is counted from this process's
 * clock (the site's own clock set it, not the database's shared one).
 */
import { invalidArgument } from './errors.js';

/** record_failure refuses a retry_after over 365 days; the hold is capped by max_open_duration (≤ 365 days) anyway. */
export const RETRY_AFTER_MAX_SECONDS = 365 * 24 * 3600;

/** What a failure may carry: seconds to wait, or the time to come back. */
export type RetryAfter = number | Date;

function seconds(value: RetryAfter, now: number): number | null {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : null;
  if (value instanceof Date) {
    const t = value.getTime();
    return Number.isNaN(t) ? null : Math.max(0, (t - now) / 1000);
  }
  return null;
}

function asInterval(secs: number): string {
  // Milliseconds are enough; longer than the largest hold changes nothing, so it is cut.
  const bounded = Math.min(secs, RETRY_AFTER_MAX_SECONDS);
  return `${Math.round(bounded * 1000) / 1000} seconds`;
}

/** The interval record_failure takes, or null; a negative, NaN or invalid value is a ValidationError. */
export function retryAfterInterval(value: unknown, call: string, now: number = Date.now()): string | null {
  if (value === undefined || value === null) return null;
  const secs = seconds(value as RetryAfter, now);
  if (secs === null) {
    throw invalidArgument('retryAfter', `${call}: retryAfter must be a number of seconds ≥ 0 or a valid Date`);
  }
  return asInterval(secs);
}

/**
 * The Retry-After a thrown error carries (its `retryAfter` property: seconds or a Date),
 * as record_failure's interval; null when it has none or one that is not a time (what a
 * site sent is never a reason to lose the failure).
 */
export function retryAfterOfError(error: unknown, now: number = Date.now()): string | null {
  if (error === null || (typeof error !== 'object' && typeof error !== 'function')) return null;
  let value: unknown;
  try {
    value = (error as { retryAfter?: unknown }).retryAfter;
  } catch {
    return null; // a throwing getter
  }
  if (typeof value !== 'number' && !(value instanceof Date)) return null;
  const secs = seconds(value, now);
  return secs === null ? null : asInterval(secs);
}
