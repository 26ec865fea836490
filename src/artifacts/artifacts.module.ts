import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module';
import { ConsentModule } from '../consent/consent.module';
import { ConversationsModule } from '../conversations/conversations.module';
import { DirectoryModule } from '../directory/directory.module';
import { RetentionModule } from '../retention/retention.module';
import { ArtifactEntity } from './artifact.entity';
import { ArtifactsController } from './artifacts.controller';
import { ArtifactsService } from './artifacts.service';
import { ChatTranscriptsService } from './chat-transcripts.service';
import { PendingCleanupJob } from './pending-cleanup.job';

/** Everything captured, through one door (design invariants 1, 2, 4, 5). */
@Module({
  imports: [TypeOrmModule.forFeature([ArtifactEntity]), AuditModule, ConsentModule, ConversationsModule, DirectoryModule, RetentionModule],
  controllers: [ArtifactsController],
  providers: [ArtifactsService, ChatTranscriptsService, PendingCleanupJob],
  exports: [ArtifactsService],
})
export class ArtifactsModule {}
