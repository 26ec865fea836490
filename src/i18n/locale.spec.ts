import { LocaleFormat } from './format';
import { acceptedLanguages, resolveLocale } from './locale';

describe('resolveLocale (R2.1, R2.2)', () => {
  it('prefers the profile over what the client sent', () => {
    expect(resolveLocale({ profile: 'en-GB', client: 'nl-NL' })).toEqual({ text: 'en', format: 'en-GB', country: 'GB', source: 'profile' });
  });

  it('takes the first supported language from Accept-Language, by q-value', () => {
    expect(resolveLocale({ client: 'de-DE;q=0.9, fr;q=0.8, nl-BE;q=0.85' })).toEqual({ text: 'nl-NL', format: 'nl-BE', country: 'BE', source: 'client' });
    expect(resolveLocale({ client: 'en-us' })).toMatchObject({ text: 'en', format: 'en-US', country: 'US' });
  });

  it('falls back to Dutch and the Netherlands when nothing is known or supported', () => {
    expect(resolveLocale({})).toEqual({ text: 'nl-NL', format: 'nl-NL', country: 'NL', source: 'default' });
    expect(resolveLocale({ profile: 'de-DE', client: 'fr-FR, *' })).toMatchObject({ text: 'nl-NL', source: 'default' });
    expect(resolveLocale({ client: 'not a tag;;;' })).toMatchObject({ text: 'nl-NL', source: 'default' });
  });

  it('keeps a profile country over the one in the tag', () => {
    expect(resolveLocale({ profile: 'en', country: 'NL' })).toMatchObject({ text: 'en', country: 'NL' });
  });

  it('drops wildcards and malformed tags', () => {
    expect(acceptedLanguages('*, en;q=0.5, x_y')).toEqual(['en']);
  });
});

describe('LocaleFormat', () => {
  const at = new Date('2026-11-25T13:05:00Z');
  it('formats dates and numbers per locale, in the display time zone', () => {
    const nl = new LocaleFormat(resolveLocale({}), 'Europe/Amsterdam');
    const gb = new LocaleFormat(resolveLocale({ profile: 'en-GB' }), 'Europe/Amsterdam');
    expect(nl.dateTime(at)).toBe('25 november 2026 om 14:05');
    expect(gb.dateTime(at)).toBe('25 November 2026 at 14:05');
    expect(nl.minutes(5)).toBe('5 minuten');
    expect(gb.minutes(1)).toBe('1 minute');
    expect(nl.number(1234.5)).toBe('1.234,5');
    expect(gb.number(1234.5)).toBe('1,234.5');
  });
});
