import { Injectable, Logger, type OnApplicationBootstrap, type BeforeApplicationShutdown } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import { ArtifactsService } from '../artifacts/artifacts.service';
import { AppConfig } from '../config/app-config';
import { CONSENT_EVENTS, type ConsentWithdrawnEvent } from '../consent/consent.events';
import { ConsentService } from '../consent/consent.service';
import { RuntimeOptions } from '../runtime-options';
import { PurgeService } from './purge.service';
import type { PurgeTrigger } from './purge-run.entity';
import { safeErrorText } from '../logging/logger';

const JOB = 'purge';
const RECONCILE_JOB = 'reconcile';
/**
 * After a withdrawal, tries every 5 s until a run got through (R10.4: within
 * a minute). Another run holding the lock takes marked items first in each
 * batch and once more before it ends, so the wait is short; the scheduled
 * run is the last resort.
 */
const WITHDRAWAL_RETRY_MS = 5_000;
const WITHDRAWAL_GIVE_UP_MS = 15 * 60_000;

/**
 * Runs the purge on its schedule (PURGE_CRON) on every instance (the lock
 * lets one at a time through), at once after a withdrawal of consent has
 * marked what that consent covered, and the reconciler on RECONCILE_CRON.
 */
@Injectable()
export class PurgeJob implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(PurgeJob.name);
  private readonly inFlight = new Set<Promise<unknown>>();
  private closed = false;

  constructor(
    private readonly purge: PurgeService,
    private readonly artifacts: ArtifactsService,
    private readonly consent: ConsentService,
    private readonly scheduler: SchedulerRegistry,
    private readonly config: AppConfig,
    private readonly runtime: RuntimeOptions,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.runtime.startupTasks) return;
    const job = CronJob.from({ cronTime: this.config.purge.cron, onTick: () => void this.run('schedule'), start: false });
    this.scheduler.addCronJob(JOB, job);
    job.start();
    const reconcile = CronJob.from({ cronTime: this.config.purge.reconcileCron, onTick: () => void this.reconcile(), start: false });
    this.scheduler.addCronJob(RECONCILE_JOB, reconcile);
    reconcile.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.closed = true;
    for (const name of [JOB, RECONCILE_JOB]) if (this.scheduler.doesExist('cron', name)) this.scheduler.deleteCronJob(name);
    await Promise.allSettled([...this.inFlight]);
  }

  run(trigger: PurgeTrigger) {
    const work = this.purge
      .run({ trigger })
      .catch((err: unknown) => {
        this.logger.error(`purge failed: ${safeErrorText(err)}`);
        return undefined;
      })
      .finally(() => this.inFlight.delete(work));
    this.inFlight.add(work);
    return work;
  }

  /** R10.5 on a schedule: repairs what no purge run can see (an object whose row was never written, a row whose object was lost). */
  reconcile() {
    const work = this.purge
      .reconcile({ dryRun: false, trigger: 'schedule' })
      .then((report) => {
        if (report?.aborted) this.logger.error(`reconcile refused to repair: ${report.aborted}`);
        else if (report && (report.orphanCount > 0 || report.missingCount > 0)) {
          this.logger.warn(`reconcile: ${report.deletedOrphans} objects without a row deleted, ${report.markedMissing} rows without their object marked`);
        }
        return report;
      })
      .catch((err: unknown) => {
        this.logger.error(`reconcile failed: ${safeErrorText(err)}`);
        return undefined;
      })
      .finally(() => this.inFlight.delete(work));
    this.inFlight.add(work);
    return work;
  }

  /** R10.4: what the withdrawn consent covered goes now, not on the schedule (legal holds excepted). */
  @OnEvent(CONSENT_EVENTS.withdrawn, { async: true, promisify: true })
  async onWithdrawn({ event }: ConsentWithdrawnEvent): Promise<void> {
    try {
      const revoked = await this.consent.revokedBy(event);
      const marked = await this.artifacts.markForPurge(revoked.grants, 'consent_withdrawn', revoked.conversationId);
      if (marked.length === 0) return;
      const giveUp = Date.now() + WITHDRAWAL_GIVE_UP_MS;
      while (!this.closed && Date.now() < giveUp) {
        const result = await this.run('withdrawal');
        if (result && result.status !== 'skipped') return;
        await new Promise((resolve) => setTimeout(resolve, WITHDRAWAL_RETRY_MS).unref());
      }
    } catch (err) {
      this.logger.error(`purge after a withdrawal failed: ${safeErrorText(err)}`);
    }
  }
}
