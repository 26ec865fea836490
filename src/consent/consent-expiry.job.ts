import { Injectable, Logger, type OnApplicationBootstrap, type BeforeApplicationShutdown } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { AppConfig } from '../config/app-config';
import { RuntimeOptions } from '../runtime-options';
import { ConsentService } from './consent.service';
import { safeErrorText } from '../logging/logger';

const JOB = 'consent-expiry';

/**
 * Expires unanswered consent requests on every instance, every few seconds
 * (CONSENT_EXPIRY_SWEEP_SECONDS). Instances never expire one request twice
 * (rows are claimed with SKIP LOCKED); a run never overlaps the previous one.
 */
@Injectable()
export class ConsentExpiryJob implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(ConsentExpiryJob.name);
  private running?: Promise<void>;

  constructor(
    private readonly consent: ConsentService,
    private readonly scheduler: SchedulerRegistry,
    private readonly config: AppConfig,
    private readonly runtime: RuntimeOptions,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.runtime.startupTasks) return;
    const timer = setInterval(() => void this.run(), this.config.consent.expirySweepSeconds * 1000);
    timer.unref();
    this.scheduler.addInterval(JOB, timer);
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.scheduler.doesExist('interval', JOB)) this.scheduler.deleteInterval(JOB);
    await this.running;
  }

  /** One sweep; skipped while the previous one still runs. */
  run(): Promise<void> {
    this.running ??= this.consent
      .expireDue()
      .then(() => undefined)
      .catch((err: unknown) => this.logger.error(`consent expiry sweep failed: ${safeErrorText(err)}`))
      .finally(() => (this.running = undefined));
    return this.running;
  }
}
