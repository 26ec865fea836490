import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { RetentionPoliciesService } from './retention-policies.service';
import { RetentionPolicyEntity } from './retention-policy.entity';

/** Retention policies (R10.1); the purge and legal holds come with the retention issue. */
@Module({
  imports: [TypeOrmModule.forFeature([RetentionPolicyEntity])],
  providers: [RetentionPoliciesService],
  exports: [RetentionPoliciesService],
})
export class RetentionModule {}
