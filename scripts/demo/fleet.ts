/**
 * The simulated fleet of the demo: Macau event sources with their engines and health
 * profiles, and the "pages" they serve, whose events change between scrapes.
 * Deterministic (seeded PRNG), so two runs tell the same story.
 */
import { createHash } from 'node:crypto';
import type { Engine } from '../../sdk/index.js';
import { prng } from '../lib/prng.js';

export type Profile = 'healthy' | 'flaky' | 'dead' | 'recovering';

export interface DemoSource {
  id: string;
  name: string;
  baseUrl: string;
  engine: Engine;
  profile: Profile;
}

export interface DemoEvent {
  id: string;
  sourceId: string;
  title: string;
  startTime: string;
  status: 'draft' | 'pending' | 'published' | 'cancelled';
  priceRange: number[] | null;
  tags: string[];
  sourceUrl: string;
}

/** A stable UUID from a name (md5, formatted as a UUID). */
export function stableUuid(name: string): string {
  const h = createHash('md5').update(`scrapeguard-demo:${name}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const SOURCES: [string, string, Engine, Profile][] = [
  ['Macao Government Tourism Office', 'https://www.macaotourism.gov.mo/en/events', 'firecrawl', 'healthy'],
  ['Macao Cultural Centre', 'https://www.ccm.gov.mo/en/programme', 'playwright', 'healthy'],
  ['Galaxy Arena', 'https://www.galaxymacau.com/arena/events', 'devtools', 'flaky'],
  ['Cotai Arena', 'https://www.venetianmacao.com/entertainment/cotai-arena.html', 'playwright', 'healthy'],
  ['Macau Ticketing API', 'https://api.macauticket.example/v2/events', 'api', 'healthy'],
  ['Macao Science Center', 'https://www.msc.org.mo/en/events', 'firecrawl', 'flaky'],
  ['Macao Museum of Art', 'https://www.mam.gov.mo/en/exhibitions', 'firecrawl', 'healthy'],
  ['Broadway Macau', 'https://www.broadwaymacau.com.mo/events', 'devtools', 'recovering'],
  ['Macau Grand Prix Feed', 'https://www.macau.grandprix.gov.mo/feed.xml', 'feed', 'healthy'],
  ['Taipa Village Cultural Association', 'https://www.taipavillagemacau.com/events', 'playwright', 'flaky'],
  ['Old Macau Listings Portal', 'https://listings.oldmacau.example/events', 'firecrawl', 'dead'],
  ['Studio City Events', 'https://www.studiocity-macau.com/en/entertainment', 'devtools', 'healthy'],
];

const TITLES = [
  'Symphony Night', 'Light Festival Walk', 'Jazz on the Waterfront', 'Cantonese Opera Gala', 'Food Festival',
  'Art Fair', 'Dragon Boat Races', 'Film Week', 'Kids Science Day', 'Pop Concert', 'Heritage Tour', 'Comedy Night',
];
const TAGS = ['music', 'family', 'outdoor', 'culture', 'food', 'sport', 'art', 'film', 'free'];

export function demoSources(): DemoSource[] {
  return SOURCES.map(([name, baseUrl, engine, profile]) => ({ id: stableUuid(name), name, baseUrl, engine, profile }));
}

/** The events a source lists before any scrape (3–5 per source). */
export function initialEvents(source: DemoSource, index: number): DemoEvent[] {
  const rnd = prng(1000 + index);
  const count = 3 + Math.floor(rnd() * 3);
  return Array.from({ length: count }, (_, i) => {
    const title = `${TITLES[(index * 3 + i) % TITLES.length]} at ${source.name.split(' ').slice(0, 2).join(' ')}`;
    const day = 1 + Math.floor(rnd() * 27);
    const low = 100 + Math.floor(rnd() * 5) * 50;
    return {
      id: stableUuid(`${source.name}#${i}`),
      sourceId: source.id,
      title,
      startTime: `2026-12-${String(day).padStart(2, '0')}T${12 + (i % 8)}:00:00+08:00`,
      status: 'published',
      priceRange: i % 3 === 0 ? null : [low, low * 3],
      tags: [TAGS[(index + i) % TAGS.length]!, TAGS[(index + 2 * i + 1) % TAGS.length]!],
      sourceUrl: `${source.baseUrl}#event-${i}`,
    };
  });
}

/** What the site shows now: the previous page with a few plausible edits. */
export function nextPage(page: DemoEvent[], rnd: () => number): DemoEvent[] {
  return page.map((e) => {
    const r = rnd();
    if (r < 0.08 && e.priceRange) {
      const bump = 50 * (1 + Math.floor(rnd() * 3));
      return { ...e, priceRange: [e.priceRange[0]! + bump, e.priceRange[1]! + bump] };
    }
    if (r < 0.11) return { ...e, startTime: e.startTime.replace(/T(\d\d)/, (_, h: string) => `T${String((Number(h) + 1) % 24).padStart(2, '0')}`) };
    if (r < 0.13) return { ...e, tags: [...new Set([...e.tags, TAGS[Math.floor(rnd() * TAGS.length)]!])] };
    if (r < 0.14 && e.status === 'published') return { ...e, status: 'cancelled' };
    return e;
  });
}

/** Whether the source answers this scrape. `progress` is 0 at the start of the demo, 1 at its end. */
/**
 * The fleet's one broken worker: its proxy's IP is banned, so every site answers it 403.
 * Every source is configured with a quorum of two failing workers, so it cannot open a
 * breaker alone, and worker_health shows it failing everywhere.
 */
export const BAD_WORKER = 'worker-6';
/** Distinct workers whose failures a streak needs before a demo source's breaker opens. */
export const DEMO_QUORUM = 2;
/** What a rate-limited site asks for in its Retry-After (seconds). */
export const DEMO_RETRY_AFTER_S = 2 * 3600;

export function sourceAnswers(profile: Profile, progress: number, rnd: () => number): boolean {
  switch (profile) {
    case 'healthy':
      return rnd() < 0.97;
    case 'flaky':
      return rnd() < 0.55;
    case 'dead':
      return false;
    case 'recovering':
      return progress > 0.45 && rnd() < 0.95;
  }
}
