import { Body, Controller, Get, Headers, Param, Patch, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { DirectoryService } from '../directory/directory.service';
import { DomainException } from '../errors/domain.exception';
import { codeParam } from '../http/params';
import { CurrentPrincipal, Public, Roles } from '../identity/auth.decorators';
import type { Principal } from '../identity/principal';
import { resolveLocale } from '../i18n/locale';
import { ConsentLedgerService } from './consent-ledger.service';
import { ConsentService, userAgentEvidence } from './consent.service';
import { toEventView } from './consent.views';
import { HistoryQueryDto, LocaleQueryDto, ProfileLocaleDto, StandingChoiceDto } from './dto/consent.dto';
import { PrivacyPageService } from './privacy-page.service';

const code = codeParam('purpose');

/**
 * The customer's permanent privacy page (R1.4): read every purpose's current
 * text, and grant or withdraw at any time, without being asked.
 */
@ApiTags('privacy')
@ApiBearerAuth()
@Controller()
export class PrivacyController {
  constructor(
    private readonly page: PrivacyPageService,
    private readonly consent: ConsentService,
    private readonly ledger: ConsentLedgerService,
    private readonly directory: DirectoryService,
  ) {}

  /** For anyone, signed in or not: in ?locale, else Accept-Language, else Dutch (R2.1, R2.2). */
  @Get('privacy')
  @Public()
  publicPage(@Query() query: LocaleQueryDto, @Headers('accept-language') acceptLanguage?: string) {
    return this.page.page(resolveLocale({ client: query.locale ?? acceptLanguage }));
  }

  /** The signed-in customer's page: their language (profile first) and their choices. */
  @Get('me/privacy')
  @Roles('customer')
  async myPage(@CurrentPrincipal() principal: Principal, @Query() query: LocaleQueryDto, @Headers('accept-language') acceptLanguage?: string) {
    const customer = await this.directory.participantFor(principal);
    await this.directory.noteClientLocale(customer.id, acceptLanguage);
    const hints = await this.directory.localeHints(customer.id);
    return this.page.page(resolveLocale(query.locale ? { profile: query.locale, country: hints.country } : hints), customer.id);
  }

  /** Grant (naming the hash of the current text read) or withdraw a purpose: standing, or in one conversation (withdraw only). */
  @Put('me/consents/:purpose')
  @Roles('customer')
  async choose(
    @CurrentPrincipal() principal: Principal,
    @Param('purpose', code) purpose: string,
    @Body() dto: StandingChoiceDto,
    @Headers('user-agent') userAgent?: string,
  ) {
    const customer = await this.directory.participantFor(principal);
    const via = { channel: 'web' as const, evidence: userAgentEvidence(userAgent, 'privacy-page') };
    if (dto.conversationId) {
      if (dto.decision !== 'withdraw') {
        throw new DomainException('VALIDATION_FAILED', 'In a conversation, consent is granted by answering the agent’s request; here it can only be withdrawn');
      }
      return this.consent.withdrawInConversation(customer, dto.conversationId, purpose, via);
    }
    return this.consent.setStanding(customer, purpose, dto.decision, dto.textHash, via);
  }

  /** What holds now: the standing choice per purpose, and grants in single conversations. */
  @Get('me/consents')
  @Roles('customer')
  async current(@CurrentPrincipal() principal: Principal) {
    const customer = await this.directory.participantFor(principal);
    const standing = await this.ledger.standingDecisions(customer.id);
    const grants = await this.ledger.activeConversationGrants(customer.id);
    return { standing: [...standing.values()].map(toEventView), conversationGrants: grants.map(toEventView) };
  }

  /** Everything they ever decided (and were asked), oldest first (R1.4). */
  @Get('me/consents/history')
  @Roles('customer')
  async history(@CurrentPrincipal() principal: Principal, @Query() query: HistoryQueryDto) {
    const customer = await this.directory.participantFor(principal);
    const rows = await this.ledger.history(customer.id, { purpose: query.purpose, afterPosition: query.after, limit: query.limit });
    return { items: rows.map(toEventView), nextAfter: rows.length === query.limit ? Number(rows[rows.length - 1].position) : null };
  }

  /** The customer's own language and country (R2.1); null clears them. */
  @Patch('me/profile')
  @Roles('customer')
  async profile(@CurrentPrincipal() principal: Principal, @Body() dto: ProfileLocaleDto) {
    const customer = await this.directory.participantFor(principal);
    const hints = await this.directory.setProfileLocale(customer.id, { locale: dto.locale, country: dto.country });
    return { locale: hints.profile ?? null, country: hints.country ?? null, resolved: resolveLocale(hints) };
  }
}
