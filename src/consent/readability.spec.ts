import { TEXT_LOCALES } from '../i18n/locale';
import { renderConsentText, type RetentionTerm } from './consent-text';
import { countSyllables, readability, splitSentences } from './readability';
import { SHIPPED_TEXTS } from './texts/shipped-texts';

const CATEGORY_CODES: Record<string, string[]> = {
  support: ['contact_details', 'chat_messages', 'call_metadata'],
  diagnostics: ['device_state', 'application_state', 'installed_software', 'hardware_configuration', 'error_reports'],
  chat_recording: ['chat_messages'],
  call_recording: ['call_audio'],
  transcription: ['call_transcript'],
  customer_profile: ['contact_history', 'skills', 'communication_preferences'],
};

/** The seeded default policy of each purpose's retention tag. */
const RETENTION: Record<string, RetentionTerm> = {
  support: { duration: 'P12M', starts: 'conversation_closed' },
  diagnostics: { duration: 'P30D', starts: 'captured' },
  chat_recording: { duration: 'P6M', starts: 'captured' },
  call_recording: { duration: 'P90D', starts: 'captured' },
  transcription: { duration: 'P90D', starts: 'captured' },
  customer_profile: { duration: 'P24M', starts: 'captured' },
};

describe('readability (R1.2)', () => {
  it('counts Dutch syllables by vowel groups, with the diaeresis starting a new one', () => {
    expect(countSyllables('toestemming', 'nl-NL')).toBe(3);
    expect(countSyllables('persoonsgegevens', 'nl-NL')).toBe(5);
    expect(countSyllables('ideeën', 'nl-NL')).toBe(3);
    expect(countSyllables('nieuw', 'nl-NL')).toBe(1);
    expect(countSyllables('consent', 'en')).toBe(2);
  });

  it('does not end a sentence inside an e-mail or web address', () => {
    expect(splitSentences('Mail naar privacy@snelstart.nl. Of kijk op www.autoriteitpersoonsgegevens.nl vandaag.')).toEqual([
      'Mail naar privacy@snelstart.nl.',
      'Of kijk op www.autoriteitpersoonsgegevens.nl vandaag.',
    ]);
  });

  it('fails a deliberately convoluted Dutch text', () => {
    const convoluted =
      'Ingevolge de toepasselijke bepalingen van de Algemene Verordening Gegevensbescherming verleent betrokkene hierbij ondubbelzinnig ' +
      'toestemming voor de geautomatiseerde verwerking van diagnostische persoonsgegevens, waaronder begrepen doch niet beperkt tot ' +
      'systeemconfiguratiegegevens, registerinformatie en foutrapportages, voor de duur van de bewaartermijn.';
    const report = readability(convoluted, 'nl-NL');
    expect(report.passes).toBe(false);
    expect(report.score).toBeLessThan(30);
    expect(report.problems.join(' ')).toMatch(/below 60.*a sentence has \d+ words/s);
  });

  it('fails a deliberately convoluted English text', () => {
    const convoluted =
      'Notwithstanding the aforementioned contractual obligations, the data subject hereby irrevocably authorises the comprehensive ' +
      'processing of diagnostic information, including configuration particulars and registry documentation, for the applicable retention period.';
    const report = readability(convoluted, 'en');
    expect(report.passes).toBe(false);
    expect(report.problems.length).toBe(2);
  });

  it('passes a short plain sentence', () => {
    expect(readability('Mogen we dit gesprek opnemen? U kiest zelf.', 'nl-NL').passes).toBe(true);
    expect(readability('May we record this call? The choice is yours.', 'en').passes).toBe(true);
  });
});

describe('shipped consent texts', () => {
  for (const [purpose, byLocale] of Object.entries(SHIPPED_TEXTS)) {
    for (const locale of TEXT_LOCALES) {
      it(`${purpose} (${locale}) is plain language and names everything it must`, () => {
        const rendered = renderConsentText(byLocale[locale], { locale, privacyContact: 'privacy@snelstart.nl', categoryCodes: CATEGORY_CODES[purpose], retention: RETENTION[purpose] });
        expect(rendered.problems).toEqual([]);
        // The period comes from the policy, never written into the text (a policy change must change what customers read).
        expect(byLocale[locale].body).toContain('{retention}');
        expect(byLocale[locale].body).not.toMatch(/\d+ (dagen|maanden|days|months)/);
        expect(rendered.readability.score).toBeGreaterThanOrEqual(60);
        expect(rendered.readability.longestSentenceWords).toBeLessThanOrEqual(20);
        expect(rendered.text).toContain('privacy@snelstart.nl'); // R9.1
        expect(rendered.text).toContain('Autoriteit Persoonsgegevens (www.autoriteitpersoonsgegevens.nl)'); // R7.1
        for (const c of rendered.categories) expect(rendered.text).toContain(`- ${c.label}\n`);
        // How long it is kept, in words the customer reads.
        expect(rendered.text).toMatch(locale === 'nl-NL' ? /\d+ (dagen|maanden)/ : /\d+ (days|months)/);
        const longer = renderConsentText(byLocale[locale], {
          locale,
          privacyContact: 'privacy@snelstart.nl',
          categoryCodes: CATEGORY_CODES[purpose],
          retention: { duration: 'P1Y6M', starts: 'conversation_closed' },
        });
        expect(longer.problems).toEqual([]);
        expect(longer.text).toContain(locale === 'nl-NL' ? '1 jaar en 6 maanden nadat uw vraag is afgesloten' : '1 year and 6 months after your question is closed');
        if (purpose !== 'support') {
          // Refusing does not stop support; how to withdraw.
          expect(rendered.text).toMatch(locale === 'nl-NL' ? /Zegt u nee\? Dan helpen we u gewoon verder\./ : /If you say no, we will still help you\./);
          expect(rendered.text).toMatch(locale === 'nl-NL' ? /toestemming altijd intrekken/ : /withdraw your consent at any time/);
        }
      });
    }
  }
});

describe('{retention} in words', () => {
  it('says the period in the customer’s language, from the close when that is the clock', () => {
    const template = { title: 'T', body: 'We keep it for {retention}. {privacyContact} {authority}', categories: {} };
    const text = (retention: RetentionTerm, locale: 'nl-NL' | 'en') =>
      renderConsentText(template, { locale, privacyContact: 'p@x.nl', categoryCodes: [], retention }).text.split('\n')[2];
    expect(text({ duration: 'P30D', starts: 'captured' }, 'en')).toMatch(/^We keep it for 30 days\./);
    expect(text({ duration: 'P12M', starts: 'conversation_closed' }, 'nl-NL')).toMatch(/^We keep it for 12 maanden nadat uw vraag is afgesloten\./);
    expect(text({ duration: 'P2W', starts: 'captured' }, 'nl-NL')).toMatch(/^We keep it for 2 weken\./);
    expect(text({ duration: 'P1Y', starts: 'captured' }, 'en')).toMatch(/^We keep it for 1 year\./);
    expect(renderConsentText(template, { locale: 'en', privacyContact: 'p@x.nl', categoryCodes: [] }).problems).toContain(
      "{retention} needs a policy for the purpose's retention tag",
    );
  });
});
