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
