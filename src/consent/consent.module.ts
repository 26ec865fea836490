import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module';
import { ConversationsModule } from '../conversations/conversations.module';
import { DirectoryModule } from '../directory/directory.module';
import { ConsentCacheService } from './consent-cache.service';
import { ConsentEventEntity } from './consent-event.entity';
import { ConsentExpiryJob } from './consent-expiry.job';
import { ConsentLedgerService } from './consent-ledger.service';
import { ConsentRequestEntity } from './consent-request.entity';
import { ConsentTextVersionEntity } from './consent-text-version.entity';
import { ConsentTextsService } from './consent-texts.service';
import { ConsentController } from './consent.controller';
import { ConsentGate } from './consent.gate';
import { ConsentGateway } from './consent.gateway';
import { ConsentService } from './consent.service';
import { PrivacyPageService } from './privacy-page.service';
import { PrivacyController } from './privacy.controller';
import { PurposeEntity } from './purpose.entity';
import { PurposesService } from './purposes.service';
import { UploadTokenEntity } from './upload-token.entity';
import { UploadTokensService } from './upload-tokens.service';

/** Purposes, texts, the ledger, requests and the gate every capture asks (R1.1-R1.4, R3.2, R3.4). */
@Module({
  imports: [
    TypeOrmModule.forFeature([PurposeEntity, ConsentTextVersionEntity, ConsentRequestEntity, ConsentEventEntity, UploadTokenEntity]),
    ConversationsModule,
    DirectoryModule,
    AuditModule,
  ],
  controllers: [ConsentController, PrivacyController],
  providers: [
    ConsentService,
    ConsentGate,
    ConsentCacheService,
    ConsentLedgerService,
    ConsentTextsService,
    PurposesService,
    PrivacyPageService,
    UploadTokensService,
    ConsentExpiryJob,
    ConsentGateway,
  ],
  exports: [ConsentGate, ConsentService, ConsentTextsService, UploadTokensService],
})
export class ConsentModule {}
