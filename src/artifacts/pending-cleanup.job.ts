import { Injectable, Logger, type OnApplicationBootstrap, type BeforeApplicationShutdown } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { ADVISORY_LOCKS } from '../database/advisory-locks';
import { RuntimeOptions } from '../runtime-options';
import { ArtifactsService } from './artifacts.service';
import { safeErrorText } from '../logging/logger';

const JOB = 'artifacts-pending-cleanup';
const EVERY_MS = 10 * 60_000;
/** Longer than any upload can take (requests time out after an hour). */
const STALE_AFTER_MS = 2 * 3_600_000;

/**
 * Captures left `pending` (the store was down when their undo ran, or the
 * process died mid-upload) are removed every ten minutes once they are two
 * hours old: object first, then row (design invariant 5). One instance at a
 * time (advisory lock); the retention work adds the full reconciler.
 */
@Injectable()
export class PendingCleanupJob implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(PendingCleanupJob.name);
  private running?: Promise<void>;

  constructor(
    private readonly artifacts: ArtifactsService,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly scheduler: SchedulerRegistry,
    private readonly runtime: RuntimeOptions,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.runtime.startupTasks) return;
    const timer = setInterval(() => void this.run(), EVERY_MS);
    timer.unref();
    this.scheduler.addInterval(JOB, timer);
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.scheduler.doesExist('interval', JOB)) this.scheduler.deleteInterval(JOB);
    await this.running;
  }

  run(): Promise<void> {
    this.running ??= this.once()
      .catch((err: unknown) => this.logger.error(`pending cleanup failed: ${safeErrorText(err)}`))
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async once(): Promise<void> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      const [{ locked }] = (await runner.query(`SELECT pg_try_advisory_lock($1) AS locked`, [ADVISORY_LOCKS.pendingCleanup])) as Array<{ locked: boolean }>;
      if (!locked) return;
      try {
        const result = await this.artifacts.cleanupStalePending(STALE_AFTER_MS);
        if (result.removed + result.kept > 0) this.logger.log(`stale pending captures: ${result.removed} removed, ${result.kept} kept (store unreachable)`);
      } finally {
        await runner.query(`SELECT pg_advisory_unlock($1)`, [ADVISORY_LOCKS.pendingCleanup]);
      }
    } finally {
      await runner.release();
    }
  }
}
