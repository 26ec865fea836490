import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ArtifactsModule } from '../artifacts/artifacts.module';
import { ConsentModule } from '../consent/consent.module';
import { ConversationsModule } from '../conversations/conversations.module';
import { DirectoryModule } from '../directory/directory.module';
import { TelephonyEventEntity } from './telephony-event.entity';
import { TelephonyController } from './telephony.controller';
import { TelephonyService } from './telephony.service';

/** The phone system: signed call events, the caller's key presses, and the recording permission it asks for (R3.3, R3.4). */
@Module({
  imports: [TypeOrmModule.forFeature([TelephonyEventEntity]), ConversationsModule, ConsentModule, DirectoryModule, ArtifactsModule],
  controllers: [TelephonyController],
  providers: [TelephonyService],
})
export class TelephonyModule {}
