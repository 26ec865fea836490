import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { BLOB_STORE, type BlobStore } from './blob-store';

/** Readiness: the configured store answers (bucket reachable, or root writable). */
@Injectable()
export class BlobStoreHealthIndicator {
  constructor(
    @Inject(BLOB_STORE) private readonly store: BlobStore,
    private readonly health: HealthIndicatorService,
  ) {}

  async check(key = 'blobStore', timeoutMs = 3000): Promise<HealthIndicatorResult> {
    const indicator = this.health.check(key);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.store.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('timed out')), timeoutMs);
        }),
      ]);
      return indicator.up({ driver: this.store.driver });
    } catch {
      return indicator.down({ driver: this.store.driver });
    } finally {
      clearTimeout(timer);
    }
  }
}
