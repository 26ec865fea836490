import { Body, Controller, Get, Headers, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { DirectoryService } from '../directory/directory.service';
import { uuidParam, codeParam } from '../http/params';
import { CurrentPrincipal, Public, Roles } from '../identity/auth.decorators';
import type { Principal } from '../identity/principal';
import { resolveLocale } from '../i18n/locale';
import { ConsentLedgerService } from './consent-ledger.service';
import { ConsentTextsService } from './consent-texts.service';
import { ConsentService, userAgentEvidence } from './consent.service';
import { toEventView, toTextVersionView } from './consent.views';
import { AnswerConsentDto, AskConsentDto, CreatePurposeDto, LedgerQueryDto, LocaleQueryDto, PublishTextDto, UpdatePurposeDto } from './dto/consent.dto';
import { PurposesService } from './purposes.service';

const uuid = uuidParam;
const code = codeParam('purpose');

/** Purposes, their texts, requests in conversations and the answers to them. */
@ApiTags('consent')
@ApiBearerAuth()
@Controller()
export class ConsentController {
  constructor(
    private readonly consent: ConsentService,
    private readonly purposes: PurposesService,
    private readonly texts: ConsentTextsService,
    private readonly ledger: ConsentLedgerService,
    private readonly directory: DirectoryService,
  ) {}

  @Get('consent/purposes')
  @Public()
  list() {
    return this.purposes.list();
  }

  @Post('consent/purposes')
  @Roles('admin')
  create(@Body() dto: CreatePurposeDto) {
    return this.purposes.create(dto);
  }

  @Patch('consent/purposes/:code')
  @Roles('admin')
  update(@Param('code', code) purpose: string, @Body() dto: UpdatePurposeDto) {
    return this.purposes.update(purpose, dto);
  }

  /** The current text of a purpose, in the language asked for (?locale, else Accept-Language, else Dutch). Public (R1.4). */
  @Get('consent/purposes/:code/text')
  @Public()
  async currentText(@Param('code', code) purpose: string, @Query() query: LocaleQueryDto, @Headers('accept-language') acceptLanguage?: string) {
    await this.purposes.get(purpose);
    const locale = resolveLocale({ client: query.locale ?? acceptLanguage });
    const text = await this.texts.require(purpose, locale.text);
    return toTextVersionView(text);
  }

  /** Every version, for staff reviewing what customers were shown (R8.1). */
  @Get('consent/purposes/:code/texts')
  @Roles('agent', 'privacy_officer', 'admin')
  async versions(@Param('code', code) purpose: string) {
    await this.purposes.get(purpose);
    return (await this.texts.versions(purpose)).map(toTextVersionView);
  }

  /** Publishes a new version; 422 TEXT_NOT_READABLE with the reasons when it is not plain language (R1.2). */
  @Post('consent/purposes/:code/texts')
  @Roles('admin')
  async publish(@CurrentPrincipal() principal: Principal, @Param('code', code) purpose: string, @Body() dto: PublishTextDto) {
    const admin = await this.directory.participantFor(principal);
    const version = await this.texts.publish(
      purpose,
      { locale: dto.locale, title: dto.title, body: dto.body, categories: dto.categories, effectiveFrom: dto.effectiveFrom ? new Date(dto.effectiveFrom) : undefined },
      admin.id,
    );
    return toTextVersionView(version);
  }

  @Post('conversations/:id/consent-requests')
  @Roles('agent', 'admin')
  async ask(@CurrentPrincipal() principal: Principal, @Param('id', uuid) conversationId: string, @Body() dto: AskConsentDto) {
    return this.consent.request(await this.directory.participantFor(principal), conversationId, dto.purposes);
  }

  @Get('conversations/:id/consent-requests')
  async requestsIn(@CurrentPrincipal() principal: Principal, @Param('id', uuid) conversationId: string) {
    return this.consent.requestsIn(await this.directory.participantFor(principal), conversationId);
  }

  @Get('consent/requests/:id')
  async getRequest(@CurrentPrincipal() principal: Principal, @Param('id', uuid) id: string) {
    return this.consent.getRequest(await this.directory.participantFor(principal), id);
  }

  /** R1.1: only the customer answers; staff get 403. */
  @Post('consent/requests/:id/answer')
  @HttpCode(200)
  @Roles('customer')
  async answer(
    @CurrentPrincipal() principal: Principal,
    @Param('id', uuid) id: string,
    @Body() dto: AnswerConsentDto,
    @Headers('user-agent') userAgent?: string,
  ) {
    const customer = await this.directory.participantFor(principal);
    return this.consent.answer(customer, id, dto.decision, dto.textHash, { channel: 'chat', evidence: userAgentEvidence(userAgent, 'rest') });
  }

  /** A customer's whole ledger, for the privacy officer (accountability, R1.6). */
  @Get('consent/ledger')
  @Roles('privacy_officer', 'admin')
  async customerLedger(@Query() query: LedgerQueryDto) {
    const rows = await this.ledger.history(query.customerId, { purpose: query.purpose, afterPosition: query.after, limit: query.limit });
    return { items: rows.map(toEventView), nextAfter: rows.length === query.limit ? Number(rows[rows.length - 1].position) : null };
  }
}
