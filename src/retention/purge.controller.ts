import { Controller, Get, Headers, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { ArtifactsService } from '../artifacts/artifacts.service';
import { auditActor, AuditService } from '../audit/audit.service';
import { uuidParam } from '../http/params';
import { BooleanQuery, LimitQuery } from '../http/query-decorators';
import { Clock } from '../clock/clock';
import { DomainException } from '../errors/domain.exception';
import { DirectoryService } from '../directory/directory.service';
import { resolveLocale } from '../i18n/locale';
import { CurrentPrincipal, Roles } from '../identity/auth.decorators';
import type { Principal } from '../identity/principal';
import { PurgeService } from './purge.service';

export class ReportQuery {
  @LimitQuery(1000, 100)
  limit: number = 100;
}

export class ReconcileQuery {
  @BooleanQuery({ default: true, description: 'Report only (the default); false also deletes orphans and marks missing objects' })
  dryRun: boolean = true;
}

export class PurgeRunsQuery {
  @LimitQuery(200, 50)
  limit: number = 50;
}

/** Purge history for privacy officers; for customers, what of theirs was purged and what a hold kept (R10.2, R10.4). */
@ApiTags('retention')
@ApiBearerAuth()
@Controller()
export class PurgeController {
  constructor(
    private readonly purge: PurgeService,
    private readonly artifacts: ArtifactsService,
    private readonly directory: DirectoryService,
    private readonly clock: Clock,
    private readonly audit: AuditService,
  ) {}

  @Get('retention/purge-runs')
  @Roles('privacy_officer', 'admin')
  runs(@Query() query: PurgeRunsQuery) {
    return this.purge.runs(query.limit);
  }

  /** R10.1: what is stored, by kind x purpose x tag. */
  @Get('retention/overview')
  @Roles('privacy_officer', 'admin')
  overview() {
    return this.artifacts.storedTotals();
  }

  /** What expires in the next 7 and 30 days, per tag. */
  @Get('retention/upcoming')
  @Roles('privacy_officer', 'admin')
  async upcoming() {
    const now = this.clock.now();
    const days = (n: number) => new Date(now.getTime() + n * 86_400_000);
    return { next7Days: await this.artifacts.expiring(now, days(7)), next30Days: await this.artifacts.expiring(now, days(30)) };
  }

  /** Past retain_until and not purged: should be empty; each item says why it is still there. */
  @Get('retention/overdue')
  @Roles('privacy_officer', 'admin')
  overdue(@Query() query: ReportQuery) {
    return this.artifacts.overdue(this.clock.now(), query.limit);
  }

  /** R10.5: objects without rows and rows without objects; `dryRun=false` also repairs them. */
  @Post('retention/reconcile')
  @HttpCode(200)
  @Roles('privacy_officer', 'admin')
  async reconcile(@Query() query: ReconcileQuery) {
    const report = await this.purge.reconcile({ dryRun: query.dryRun, trigger: 'command' });
    if (!report) throw new DomainException('RECONCILE_RUNNING', 'A reconcile is running; try again when it has finished');
    return report;
  }

  /** R10.4 for the officer: a customer's purged items and why, and what each hold keeps back. Audited. */
  @Get('retention/customers/:customerId/purged')
  @Roles('privacy_officer', 'admin')
  async customerPurged(@CurrentPrincipal() principal: Principal, @Param('customerId', uuidParam) customerId: string) {
    const report = await this.artifacts.purgeReport(customerId, { holds: true });
    await this.audit.record({
      actor: auditActor(await this.directory.participantFor(principal)),
      action: 'retention.purge_report.read',
      target: { type: 'customer', id: customerId },
      outcome: 'allowed',
      details: { purged: report.purged.length, keptUnderHold: report.keptUnderHold.length },
    });
    return report;
  }

  @Get('me/purged')
  @Roles('customer')
  async mine(@CurrentPrincipal() principal: Principal, @Headers('accept-language') acceptLanguage?: string) {
    const customer = await this.directory.participantFor(principal);
    // R2.1: in the customer's own language, as their privacy page is.
    const hints = await this.directory.localeHints(customer.id);
    const locale = resolveLocale({ ...hints, client: hints.client ?? acceptLanguage });
    return this.artifacts.purgeReport(customer.id, { locale: locale.text });
  }
}
