import type { ResolvedLocale } from './locale';

/**
 * Dates and numbers in prompts, formatted for the customer's own locale (R2.1),
 * in the service's display time zone.
 */
export class LocaleFormat {
  constructor(
    readonly locale: ResolvedLocale,
    private readonly timeZone: string,
  ) {}

  dateTime(date: Date): string {
    return new Intl.DateTimeFormat(this.locale.format, { dateStyle: 'long', timeStyle: 'short', timeZone: this.timeZone }).format(date);
  }

  date(date: Date): string {
    return new Intl.DateTimeFormat(this.locale.format, { dateStyle: 'long', timeZone: this.timeZone }).format(date);
  }

  /** A duration in whole minutes, e.g. "5 minuten" / "5 minutes". */
  minutes(count: number): string {
    return new Intl.NumberFormat(this.locale.format, { style: 'unit', unit: 'minute', unitDisplay: 'long' }).format(count);
  }

  number(value: number): string {
    return new Intl.NumberFormat(this.locale.format).format(value);
  }
}

const PERIOD = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$/;
const PERIOD_UNITS = ['year', 'month', 'week', 'day'] as const;

/** An ISO 8601 period of whole units in words: P12M → "12 maanden" / "12 months", P1Y6M → "1 jaar en 6 maanden". */
export function formatPeriod(iso: string, locale: string): string {
  const match = PERIOD.exec(iso);
  if (!match || iso === 'P') throw new Error(`not a period of whole years, months, weeks or days: ${iso}`);
  const parts = PERIOD_UNITS.flatMap((unit, i) => {
    const n = Number(match[i + 1] ?? 0);
    return n > 0 ? [new Intl.NumberFormat(locale, { style: 'unit', unit, unitDisplay: 'long' }).format(n)] : [];
  });
  return new Intl.ListFormat(locale, { style: 'long', type: 'conjunction' }).format(parts);
}
