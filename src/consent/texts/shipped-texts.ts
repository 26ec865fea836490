import type { TextLocale } from '../../i18n/locale';

/**
 * The consent texts the service ships with, one per purpose and language
 * (R1.2, R2.3). Placeholders are filled in when a text is published:
 * `{categories}` (one line per category), `{privacyContact}` (R9.1) and
 * `{authority}` (R7.1) and `{retention}` (the purpose's retention tag's
 * policy in words, so a policy change publishes new versions). Every text passes the readability check
 * (readability.ts, tested in readability.spec.ts); one that did not would
 * stop the service at start-up.
 */
export interface TextTemplate {
  title: string;
  body: string;
  /** A label per category code of the purpose, in this language. */
  categories: Record<string, string>;
}

const REFUSE_NL = 'U kiest zelf. Zegt u nee? Dan helpen we u gewoon verder.';
const REFUSE_EN = 'The choice is yours. If you say no, we will still help you.';
const CONTACT_NL = 'Vragen? Mail naar {privacyContact}.\nBent u het niet met ons eens? Dan kunt u een klacht indienen bij {authority}.';
const CONTACT_EN = 'Questions? Send an e-mail to {privacyContact}.\nNot happy with how we handle your data? You can complain to {authority}.';

export const SHIPPED_TEXTS: Record<string, Record<TextLocale, TextTemplate>> = {
  support: {
    'nl-NL': {
      title: 'Wat we bewaren als u hulp vraagt',
      body: [
        'Als u ons om hulp vraagt, bewaren we gegevens om uw vraag te beantwoorden. Het gaat om:',
        '{categories}',
        'Dit is nodig om u te helpen. Daarom vragen we hier geen toestemming voor.',
        'We bewaren chats en bijlagen {retention}. Daarna wissen we ze.',
        'Wilt u niet dat we deze gegevens gebruiken? Laat het ons weten, dan kijken we samen wat kan.',
        CONTACT_NL,
      ].join('\n'),
      categories: {
        contact_details: 'Uw naam en hoe we u kunnen bereiken',
        chat_messages: 'De berichten in de chat en de bestanden die u stuurt',
        call_metadata: 'Wanneer u belde en hoe lang het gesprek duurde',
      },
    },
    en: {
      title: 'What we keep when you ask for help',
      body: [
        'When you ask us for help, we keep data to answer your question. This is what we keep:',
        '{categories}',
        'We need this to help you. That is why we do not ask for your consent here.',
        'We keep chats and files for {retention}. Then we delete them.',
        'Do you object to how we use this data? Let us know and we will look at it with you.',
        CONTACT_EN,
      ].join('\n'),
      categories: {
        contact_details: 'Your name and how we can reach you',
        chat_messages: 'The messages in the chat and the files you send',
        call_metadata: 'When you called and how long the call took',
      },
    },
  },
  diagnostics: {
    'nl-NL': {
      title: 'Mogen we gegevens van uw computer verzamelen?',
      body: [
        'Om uw probleem op te lossen, willen we gegevens van uw computer bekijken. Het gaat om:',
        '{categories}',
        'Een foutrapport kan ook de inhoud van uw bestanden bevatten.',
        'We gebruiken deze gegevens alleen om dit probleem op te lossen. We bewaren ze {retention}. Daarna wissen we ze.',
        REFUSE_NL,
        'U kunt uw toestemming altijd intrekken. Dat kan in de chat of op uw privacypagina.',
        CONTACT_NL,
      ].join('\n'),
      categories: {
        device_state: 'Hoe uw apparaat werkte toen de fout optrad en tijdens ons onderzoek',
        application_state: 'Hoe ons programma werkte toen de fout optrad en tijdens ons onderzoek',
        installed_software: 'Gegevens uit uw systeem en register over de software die op uw computer staat',
        hardware_configuration: 'Welke hardware uw computer heeft en hoe die is ingesteld',
        error_reports: 'Foutrapporten, soms met de inhoud van bestanden',
      },
    },
    en: {
      title: 'May we collect data from your computer?',
      body: [
        'To solve your problem, we would like to look at data from your computer. This is what we collect:',
        '{categories}',
        'An error report can hold the contents of your files.',
        'We use this data only to solve this problem. We keep it for {retention}. Then we delete it.',
        REFUSE_EN,
        'You can withdraw your consent at any time. You can do this in the chat or on your privacy page.',
        CONTACT_EN,
      ].join('\n'),
      categories: {
        device_state: 'How your device worked when the fault took place and while we look into it',
        application_state: 'How our program worked when the fault took place and while we look into it',
        installed_software: 'Data from your system and registry about the software on your computer',
        hardware_configuration: 'Which hardware your computer has and how it is set up',
        error_reports: 'Error reports, which can hold the contents of files',
      },
    },
  },
  chat_recording: {
    'nl-NL': {
      title: 'Mogen we deze chat bewaren om onze hulp te verbeteren?',
      body: [
        'We willen een kopie van deze chat bewaren. Een collega leest dan mee om de kwaliteit van onze hulp te toetsen. Het gaat om:',
        '{categories}',
        'We gebruiken de kopie alleen om onze hulp te verbeteren. We bewaren haar {retention}. Daarna wissen we haar.',
        REFUSE_NL,
        'U kunt uw toestemming altijd intrekken, in de chat of op uw privacypagina. Dan stoppen we direct.',
        CONTACT_NL,
      ].join('\n'),
      categories: {
        chat_messages: 'Alle berichten in deze chat, van u en van ons',
      },
    },
    en: {
      title: 'May we keep this chat to improve our help?',
      body: [
        'We would like to keep a copy of this chat. A colleague then reads it to check the quality of our help. This is what we keep:',
        '{categories}',
        'We use the copy only to improve our help. We keep it for {retention}. Then we delete it.',
        REFUSE_EN,
        'You can withdraw your consent at any time, in the chat or on your privacy page. We then stop at once.',
        CONTACT_EN,
      ].join('\n'),
      categories: {
        chat_messages: 'All messages in this chat, from you and from us',
      },
    },
  },
  call_recording: {
    'nl-NL': {
      title: 'Mogen we dit gesprek opnemen?',
      body: [
        'We willen dit telefoongesprek opnemen. Zo kunnen we uw vraag later terugluisteren en onze hulp verbeteren. Het gaat om:',
        '{categories}',
        'We bewaren de opname {retention}. Daarna wissen we haar.',
        REFUSE_NL,
        'U kunt uw toestemming altijd intrekken. Druk tijdens het gesprek op de toets die we noemen, of ga naar uw privacypagina. De opname stopt dan direct.',
        CONTACT_NL,
      ].join('\n'),
      categories: {
        call_audio: 'Het geluid van het gesprek: wat u zegt en wat wij zeggen',
      },
    },
    en: {
      title: 'May we record this call?',
      body: [
        'We would like to record this phone call. This lets us listen to your question again and improve our help. This is what we keep:',
        '{categories}',
        'We keep the recording for {retention}. Then we delete it.',
        REFUSE_EN,
        'You can withdraw your consent at any time. Press the key we name during the call, or go to your privacy page. The recording then stops at once.',
        CONTACT_EN,
      ].join('\n'),
      categories: {
        call_audio: 'The sound of the call: what you say and what we say',
      },
    },
  },
  transcription: {
    'nl-NL': {
      title: 'Mogen we van uw gesproken bericht een tekst maken?',
      body: [
        'We willen van wat u zegt een geschreven tekst maken. Dat heet een transcriptie. Het gaat om:',
        '{categories}',
        'Met de tekst kunnen we uw vraag sneller beantwoorden. We bewaren de tekst {retention}. Daarna wissen we hem.',
        REFUSE_NL,
        'U kunt uw toestemming altijd intrekken, tijdens het gesprek of op uw privacypagina.',
        CONTACT_NL,
      ].join('\n'),
      categories: {
        call_transcript: 'De tekst van wat u inspreekt en wat wij zeggen',
      },
    },
    en: {
      title: 'May we turn your spoken message into text?',
      body: [
        'We would like to write down what you say as text. This is called a transcript. This is what we keep:',
        '{categories}',
        'The text helps us answer your question faster. We keep the text for {retention}. Then we delete it.',
        REFUSE_EN,
        'You can withdraw your consent at any time, during the call or on your privacy page.',
        CONTACT_EN,
      ].join('\n'),
      categories: {
        call_transcript: 'The text of what you say and what we say',
      },
    },
  },
  customer_profile: {
    'nl-NL': {
      title: 'Mogen we een klantbeeld van u maken?',
      body: [
        'We willen uw contact met ons gebruiken om een beeld van u als klant te maken. Zo passen we onze hulp beter aan u aan. Het gaat om:',
        '{categories}',
        'We gebruiken dit klantbeeld alleen voor onze hulp aan u. We bewaren het {retention}. Daarna wissen we het.',
        REFUSE_NL,
        'U kunt uw toestemming altijd intrekken op uw privacypagina. Dan wissen we uw klantbeeld.',
        CONTACT_NL,
      ].join('\n'),
      categories: {
        contact_history: 'Waarover en hoe vaak u contact met ons opneemt',
        skills: 'Hoe goed u ons programma kent',
        communication_preferences: 'Hoe u het liefst geholpen wordt, bijvoorbeeld per chat of telefoon',
      },
    },
    en: {
      title: 'May we build a customer picture of you?',
      body: [
        'We would like to use your contact with us to build a picture of you as a customer. This helps us fit our help to you. This is what we use:',
        '{categories}',
        'We use this picture only to help you. We keep it for {retention}. Then we delete it.',
        REFUSE_EN,
        'You can withdraw your consent at any time on your privacy page. We then delete your customer picture.',
        CONTACT_EN,
      ].join('\n'),
      categories: {
        contact_history: 'What you contact us about and how often',
        skills: 'How well you know our program',
        communication_preferences: 'How you like to be helped, for example by chat or by phone',
      },
    },
  },
};

/** What fills `{authority}` (R7.1). */
export const AUTHORITY: Record<TextLocale, string> = {
  'nl-NL': 'de Autoriteit Persoonsgegevens (www.autoriteitpersoonsgegevens.nl)',
  en: 'the Dutch Data Protection Authority, the Autoriteit Persoonsgegevens (www.autoriteitpersoonsgegevens.nl)',
};

export const AUTHORITY_URL = 'https://www.autoriteitpersoonsgegevens.nl';
