import { Module } from '@nestjs/common';
import { ArtifactsModule } from '../artifacts/artifacts.module';
import { AuditModule } from '../audit/audit.module';
import { ConsentModule } from '../consent/consent.module';
import { ConversationsModule } from '../conversations/conversations.module';
import { DirectoryModule } from '../directory/directory.module';
import { PurgeController } from './purge.controller';
import { PurgeJob } from './purge.job';
import { PurgeService } from './purge.service';
import { RetentionModule } from './retention.module';

/** The purge (R10.2, R10.4, R10.5): on its own module, since it drives artifacts, which use retention policies. */
@Module({
  imports: [RetentionModule, ArtifactsModule, AuditModule, ConsentModule, ConversationsModule, DirectoryModule],
  controllers: [PurgeController],
  providers: [PurgeService, PurgeJob],
  exports: [PurgeService],
})
export class PurgeModule {}
