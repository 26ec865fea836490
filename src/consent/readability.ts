import { syllable } from 'syllable';
import type { TextLocale } from '../i18n/locale';

/** R1.2: what "understandable, simple language" means here, checked before any text is published. */
export const READABILITY_RULES = {
  /** Flesch–Douma (Dutch) and Flesch reading ease (English): 60 and up reads as plain language. */
  minScore: 60,
  /** No sentence (or list line) longer than this many words. */
  maxSentenceWords: 20,
} as const;

export interface ReadabilityReport {
  metric: 'flesch-douma' | 'flesch-reading-ease';
  score: number;
  sentences: number;
  words: number;
  syllables: number;
  longestSentenceWords: number;
  /** The longest sentence's first words, to find it when it is too long. */
  longestSentenceStart: string;
  passes: boolean;
  problems: string[];
}

// Addresses are read as one unit, not spelled out: an e-mail or a web address counts as one word of three syllables.
const ADDRESS = /\b[\w.+-]+@[\w-]+(\.[\w-]+)+\b|\b(https?:\/\/)?(www\.)?[\w-]+(\.[\w-]+)*\.(nl|com|eu|org|net)\b(\/\S*)?/gi;
const WORD = /[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*/gu;

export function readability(text: string, locale: TextLocale): ReadabilityReport {
  const sentences = splitSentences(text);
  let words = 0;
  let syllables = 0;
  let counted = 0;
  let longest = { count: 0, start: '' };
  for (const sentence of sentences) {
    const addresses = sentence.match(ADDRESS) ?? [];
    const tokens = sentence.replace(ADDRESS, ' ').match(WORD) ?? [];
    const count = tokens.length + addresses.length;
    if (count === 0) continue;
    counted += 1;
    words += count;
    syllables += addresses.length * 3 + tokens.reduce((sum, w) => sum + countSyllables(w, locale), 0);
    if (count > longest.count) longest = { count, start: sentence.split(/\s+/).slice(0, 8).join(' ') };
  }
  const sentenceCount = Math.max(1, counted);
  const asl = words / sentenceCount;
  const asw = words === 0 ? 0 : syllables / words;
  const score = locale === 'nl-NL' ? 206.835 - 0.93 * asl - 77 * asw : 206.835 - 1.015 * asl - 84.6 * asw;
  const problems: string[] = [];
  if (words === 0) problems.push('the text is empty');
  if (score < READABILITY_RULES.minScore) {
    problems.push(`reading ease ${score.toFixed(1)} is below ${READABILITY_RULES.minScore}: use shorter sentences and shorter words`);
  }
  if (longest.count > READABILITY_RULES.maxSentenceWords) {
    problems.push(`a sentence has ${longest.count} words (at most ${READABILITY_RULES.maxSentenceWords}): "${longest.start} …"`);
  }
  return {
    metric: locale === 'nl-NL' ? 'flesch-douma' : 'flesch-reading-ease',
    score: Math.round(score * 10) / 10,
    sentences: sentenceCount,
    words,
    syllables,
    longestSentenceWords: longest.count,
    longestSentenceStart: longest.start,
    passes: problems.length === 0,
    problems,
  };
}

/** Sentences end at . ! ? or ; and at every line break (a list item is a sentence of its own). */
export function splitSentences(text: string): string[] {
  return text
    .replace(ADDRESS, (m) => m.replace(/\./g, '\u2024')) // dots inside addresses do not end a sentence
    .split(/(?<=[.!?;:])\s+|\n+/)
    .map((s) => s.replace(/\u2024/g, '.').trim())
    .filter((s) => s.length > 0);
}

export function countSyllables(word: string, locale: TextLocale): number {
  if (/^\p{N}+$/u.test(word)) return 2; // a number, as read aloud
  return locale === 'nl-NL' ? dutchSyllables(word) : Math.max(1, syllable(word));
}

/**
 * Dutch: one syllable per group of vowels (aa, ee, ie, oe, ui, eu, ij, ieuw...),
 * and a vowel with a diaeresis (beëindigen, ideeën) starts a new one.
 */
export function dutchSyllables(word: string): number {
  const groups = word
    .toLowerCase()
    .replace(/[ëïöüä]/g, ' $&')
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .match(/[aeiouy]+/g);
  return Math.max(1, groups?.length ?? 0);
}
