import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { LocaleFormat } from '../i18n/format';
import type { ResolvedLocale } from '../i18n/locale';
import { message } from '../i18n/messages';
import { ConsentLedgerService } from './consent-ledger.service';
import { ConsentTextsService } from './consent-texts.service';
import { type CategoryLabel } from './consent-text';
import { toEventView, type ConsentEventView, type PurposeView } from './consent.views';
import { PurposesService } from './purposes.service';
import { AUTHORITY_URL } from './texts/shipped-texts';

export interface PrivacyPurpose extends PurposeView {
  title: string | null;
  text: string | null;
  textVersionId: string | null;
  version: number | null;
  textHash: string | null;
  effectiveFrom: string | null;
  effectiveFromText: string | null;
  categoryLabels: CategoryLabel[];
  /** For a signed-in customer: their standing choice, and the conversations where a grant holds. */
  choice?: { standing: ConsentEventView | null; grantedInConversations: string[] };
}

export interface PrivacyPage {
  locale: string;
  formatLocale: string;
  country: string;
  /** R9.1 */
  contact: { email: string; text: string };
  /** R7.1 */
  complaint: { authority: string; url: string; text: string };
  purposes: PrivacyPurpose[];
}

/** R1.4: the permanent privacy page: every purpose, its current text, and (signed in) the customer's choices. */
@Injectable()
export class PrivacyPageService {
  constructor(
    private readonly purposes: PurposesService,
    private readonly texts: ConsentTextsService,
    private readonly ledger: ConsentLedgerService,
    private readonly config: AppConfig,
  ) {}

  async page(locale: ResolvedLocale, customerId?: string): Promise<PrivacyPage> {
    const format = new LocaleFormat(locale, this.config.privacy.displayTimeZone);
    const standing = customerId ? await this.ledger.standingDecisions(customerId) : undefined;
    const grants = customerId ? await this.ledger.activeConversationGrants(customerId) : [];
    const purposes: PrivacyPurpose[] = [];
    for (const purpose of await this.purposes.list()) {
      if (!purpose.active) continue;
      const text = await this.texts.current(purpose.code, locale.text);
      const standingRow = standing?.get(purpose.code);
      purposes.push({
        ...purpose,
        title: text?.title ?? null,
        text: text?.text ?? null,
        textVersionId: text?.id ?? null,
        version: text?.version ?? null,
        textHash: text?.sha256 ?? null,
        effectiveFrom: text?.effective_from.toISOString() ?? null,
        effectiveFromText: text ? format.date(text.effective_from) : null,
        categoryLabels: text?.categories ?? [],
        choice:
          customerId && purpose.needsConsent
            ? {
                standing: standingRow ? toEventView(standingRow) : null,
                grantedInConversations: grants.filter((g) => g.purpose === purpose.code).map((g) => g.conversation_id!),
              }
            : undefined,
      });
    }
    const email = this.config.privacy.contactEmail;
    return {
      locale: locale.text,
      formatLocale: locale.format,
      country: locale.country,
      contact: { email, text: message('contact', locale.text, { email }) },
      complaint: { authority: 'Autoriteit Persoonsgegevens', url: AUTHORITY_URL, text: message('complaint', locale.text) },
      purposes,
    };
  }
}
