import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module';
import { ConsentModule } from '../consent/consent.module';
import { DirectoryModule } from '../directory/directory.module';
import { LegalHoldEntity } from './legal-hold.entity';
import { PurgeRunEntity } from './purge-run.entity';
import { LegalHoldsService } from './legal-holds.service';
import { RetentionPoliciesService } from './retention-policies.service';
import { RetentionPolicyEntity } from './retention-policy.entity';
import { RetentionController } from './retention.controller';

/** Retention policies and legal holds (R10.1, R10.3); the purge builds on them. */
@Module({
  imports: [TypeOrmModule.forFeature([RetentionPolicyEntity, LegalHoldEntity, PurgeRunEntity]), AuditModule, ConsentModule, DirectoryModule],
  controllers: [RetentionController],
  providers: [RetentionPoliciesService, LegalHoldsService],
  exports: [RetentionPoliciesService, LegalHoldsService],
})
export class RetentionModule {}
