import { Body, Controller, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { DirectoryService } from '../directory/directory.service';
import { uuidParam, codeParam } from '../http/params';
import { CurrentPrincipal, Roles } from '../identity/auth.decorators';
import type { Principal } from '../identity/principal';
import { ApplyPolicyChangeDto, ListHoldsQuery, PlaceHoldDto, PolicyChangeDto, ReleaseHoldDto } from './dto/retention.dto';
import { LegalHoldsService } from './legal-holds.service';
import { RetentionPoliciesService } from './retention-policies.service';

const uuid = uuidParam;
const tagPipe = codeParam('retention tag');

/** Retention policies and legal holds, for privacy officers (R10.1, R10.3). */
@ApiTags('retention')
@ApiBearerAuth()
@Controller()
export class RetentionController {
  constructor(
    private readonly policies: RetentionPoliciesService,
    private readonly holds: LegalHoldsService,
    private readonly directory: DirectoryService,
  ) {}

  @Get('retention/policies')
  @Roles('privacy_officer', 'admin')
  listPolicies() {
    return this.policies.list();
  }

  /** What a change would do: how many items would be kept shorter or longer, and how many would be due at once. */
  @Post('retention/policies/:tag/preview')
  @HttpCode(200)
  @Roles('privacy_officer', 'admin')
  preview(@Param('tag', tagPipe) tag: string, @Body() dto: PolicyChangeDto) {
    return this.policies.preview(tag, dto);
  }

  /** Makes the change previewed (its `affected` count as `expectAffected`), recomputing retain_until; audited. */
  @Put('retention/policies/:tag')
  @Roles('privacy_officer', 'admin')
  async change(@CurrentPrincipal() principal: Principal, @Param('tag', tagPipe) tag: string, @Body() dto: ApplyPolicyChangeDto) {
    const { expectAffected, previewAsOf, ...change } = dto;
    return this.policies.change(await this.directory.participantFor(principal), tag, change, {
      affected: expectAffected,
      asOf: previewAsOf ? new Date(previewAsOf) : undefined,
    });
  }

  @Post('legal-holds')
  @Roles('privacy_officer')
  async place(@CurrentPrincipal() principal: Principal, @Body() dto: PlaceHoldDto) {
    return this.holds.place(await this.directory.participantFor(principal), {
      scope: dto.scope,
      targetId: dto.targetId,
      reason: dto.reason,
      endsAt: dto.endsAt ? new Date(dto.endsAt) : undefined,
    });
  }

  @Get('legal-holds')
  @Roles('privacy_officer', 'admin')
  list(@Query() query: ListHoldsQuery) {
    return this.holds.list({ active: query.active, limit: query.limit });
  }

  /** A hold and what it covers now. */
  @Get('legal-holds/:id')
  @Roles('privacy_officer', 'admin')
  coverage(@Param('id', uuid) id: string) {
    return this.holds.coverage(id);
  }

  @Post('legal-holds/:id/release')
  @HttpCode(200)
  @Roles('privacy_officer')
  async release(@CurrentPrincipal() principal: Principal, @Param('id', uuid) id: string, @Body() dto: ReleaseHoldDto) {
    return this.holds.release(await this.directory.participantFor(principal), id, dto.reason);
  }
}
