import { Global, Module, type OnApplicationShutdown, Inject } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { BLOB_STORE, type BlobStore } from './blob-store';
import { FsBlobStore } from './fs-blob-store';
import { createS3Client, S3BlobStore } from './s3-blob-store';
import { TerminusModule } from '@nestjs/terminus';
import { BlobStoreHealthIndicator } from './blob-store.health';

export function createBlobStore(config: AppConfig): BlobStore {
  const storage = config.storage;
  return storage.driver === 's3' ? new S3BlobStore(createS3Client(storage), storage) : new FsBlobStore(storage.root);
}

@Global()
@Module({
  imports: [TerminusModule],
  providers: [
    { provide: BLOB_STORE, inject: [AppConfig], useFactory: createBlobStore },
    BlobStoreHealthIndicator,
  ],
  exports: [BLOB_STORE, BlobStoreHealthIndicator],
})
export class StorageModule implements OnApplicationShutdown {
  constructor(@Inject(BLOB_STORE) private readonly store: BlobStore) {}

  onApplicationShutdown(): void {
    if (this.store instanceof S3BlobStore) this.store.destroy();
  }
}
