import type { TextLocale } from './locale';

/** Short interface sentences around the consent texts (R2.3: every prompt in Dutch and English). */
export const MESSAGES = {
  complaint: {
    'nl-NL': 'U mag altijd een klacht indienen bij de Autoriteit Persoonsgegevens.',
    en: 'You may always file a complaint with the Dutch Data Protection Authority (Autoriteit Persoonsgegevens).',
  },
  contact: {
    'nl-NL': 'Vragen over uw privacy? Mail naar {email}.',
    en: 'Questions about your privacy? Send an e-mail to {email}.',
  },
  keptUnderHold: {
    'nl-NL': 'Bewaard omdat een juridische bewaarplicht (legal hold) dit dekt; het wordt verwijderd zodra die afloopt.',
    en: 'Kept because a legal hold covers it; it is removed once the hold ends.',
  },
  answerBefore: {
    'nl-NL': 'Beantwoord deze vraag vóór {time}.',
    en: 'Please answer before {time}.',
  },
} as const satisfies Record<string, Record<TextLocale, string>>;

export function message(key: keyof typeof MESSAGES, locale: TextLocale, values: Record<string, string> = {}): string {
  return Object.entries(values).reduce<string>((text, [name, value]) => text.replaceAll(`{${name}}`, value), MESSAGES[key][locale]);
}
