import { createHash } from 'node:crypto';
import { formatPeriod } from '../i18n/format';
import type { TextLocale } from '../i18n/locale';
import { readability, type ReadabilityReport } from './readability';
import { AUTHORITY, type TextTemplate } from './texts/shipped-texts';

export interface CategoryLabel {
  code: string;
  label: string;
}

/** A consent text as the customer sees it, and the SHA-256 of exactly that (R1.2, R8.1). */
export interface RenderedText {
  title: string;
  categories: CategoryLabel[];
  /** The whole text shown: title, blank line, body with its placeholders filled in. */
  text: string;
  sha256: string;
  readability: ReadabilityReport;
  /** Reasons it may not be published; empty when it may. */
  problems: string[];
}

/** How long the purpose's items are kept: its retention tag's policy (R10.1). */
export interface RetentionTerm {
  duration: string;
  starts: 'captured' | 'conversation_closed';
}

const AFTER_CLOSE: Record<TextLocale, string> = { 'nl-NL': 'nadat uw vraag is afgesloten', en: 'after your question is closed' };

/** `{retention}` in words: "12 maanden nadat uw vraag is afgesloten", "30 days". */
export function retentionPhrase(term: RetentionTerm, locale: TextLocale): string {
  const period = formatPeriod(term.duration, locale);
  return term.starts === 'conversation_closed' ? `${period} ${AFTER_CLOSE[locale]}` : period;
}

export function renderConsentText(
  template: TextTemplate,
  context: { locale: TextLocale; privacyContact: string; categoryCodes: readonly string[]; retention?: RetentionTerm },
): RenderedText {
  const problems: string[] = [];
  const label = (code: string) => {
    const raw: unknown = template.categories[code];
    return typeof raw === 'string' ? raw.trim().replace(/\s+/g, ' ') : '';
  };
  const categories = context.categoryCodes.map((code) => ({ code, label: label(code) }));
  for (const c of categories) if (!c.label) problems.push(`category ${c.code} has no label in ${context.locale}`);
  for (const code of Object.keys(template.categories)) {
    if (!context.categoryCodes.includes(code)) problems.push(`category ${code} is not one of this purpose's categories`);
  }
  if (!template.body.includes('{categories}') && categories.length > 0) problems.push('the body must list the categories ({categories})');
  if (!template.body.includes('{privacyContact}')) problems.push('the body must name the privacy contact ({privacyContact}) (R9.1)');
  if (!template.body.includes('{authority}')) problems.push('the body must name the right to complain to the authority ({authority}) (R7.1)');
  const unknown = template.body.match(/\{(?!categories\}|privacyContact\}|authority\}|retention\})[^}]*\}/g);
  if (unknown) problems.push(`unknown placeholders: ${unknown.join(', ')}`);
  if (template.body.includes('{retention}') && !context.retention) problems.push("{retention} needs a policy for the purpose's retention tag");

  const body = template.body
    .replaceAll('{categories}', categories.map((c) => `- ${c.label}`).join('\n'))
    .replaceAll('{privacyContact}', context.privacyContact)
    .replaceAll('{authority}', AUTHORITY[context.locale])
    .replaceAll('{retention}', context.retention ? retentionPhrase(context.retention, context.locale) : '{retention}');
  const title = template.title.trim();
  if (!title) problems.push('the title is empty');
  const text = `${title}\n\n${body.trim()}\n`.normalize('NFC');
  const report = readability(text, context.locale);
  problems.push(...report.problems);
  return { title, categories, text, sha256: sha256Hex(text), readability: report, problems };
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
