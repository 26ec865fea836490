import Negotiator from 'negotiator';

/** Languages every prompt exists in (R2.3). */
export const TEXT_LOCALES = ['nl-NL', 'en'] as const;
export type TextLocale = (typeof TEXT_LOCALES)[number];

/** R2.2: when nothing says otherwise, Dutch and the Netherlands. */
export const DEFAULT_LOCALE: TextLocale = 'nl-NL';
export const DEFAULT_COUNTRY = 'NL';

const TAG = /^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/i;

/**
 * The locale a customer is addressed in: `text` picks the language of the
 * text (one of TEXT_LOCALES), `format` is the customer's own tag for Intl
 * (en-GB dates stay British even though the text is `en`), `country` their
 * country, and `source` where it came from.
 */
export interface ResolvedLocale {
  text: TextLocale;
  format: string;
  country: string;
  source: 'profile' | 'client' | 'default';
}

/** Candidates in order of authority: profile, then what the client sent (handshake or Accept-Language). */
export interface LocaleHints {
  profile?: string | null;
  country?: string | null;
  /** One tag, or an Accept-Language header (with q-values). */
  client?: string | null;
}

export function resolveLocale(hints: LocaleHints): ResolvedLocale {
  const sources: Array<[ResolvedLocale['source'], string[]]> = [
    ['profile', hints.profile ? [hints.profile] : []],
    ['client', hints.client ? acceptedLanguages(hints.client) : []],
  ];
  for (const [source, tags] of sources) {
    for (const tag of tags) {
      const text = textLocaleFor(tag);
      if (text) return { text, format: canonicalTag(tag), country: hints.country ?? regionOf(tag) ?? DEFAULT_COUNTRY, source };
    }
  }
  return { text: DEFAULT_LOCALE, format: DEFAULT_LOCALE, country: hints.country ?? DEFAULT_COUNTRY, source: 'default' };
}

/** The text language for a tag: `nl`, `nl-BE` -> nl-NL; `en-GB` -> en; others none. */
export function textLocaleFor(tag: string): TextLocale | undefined {
  if (!TAG.test(tag)) return undefined;
  const language = tag.split('-')[0].toLowerCase();
  if (language === 'nl') return 'nl-NL';
  if (language === 'en') return 'en';
  return undefined;
}

/** Tags from an Accept-Language header (or one bare tag), most preferred first; `*` dropped. */
export function acceptedLanguages(header: string): string[] {
  if (header.length > 512) header = header.slice(0, 512);
  return new Negotiator({ headers: { 'accept-language': header } }).languages().filter((tag) => tag !== '*' && TAG.test(tag));
}

/** `EN-gb` -> `en-GB`, checked by Intl (an unknown but well-formed tag passes through). */
export function canonicalTag(tag: string): string {
  try {
    return Intl.getCanonicalLocales(tag)[0] ?? DEFAULT_LOCALE;
  } catch {
    return DEFAULT_LOCALE;
  }
}

function regionOf(tag: string): string | undefined {
  const region = tag.split('-').slice(1).find((part) => /^[A-Za-z]{2}$/.test(part));
  return region?.toUpperCase();
}
