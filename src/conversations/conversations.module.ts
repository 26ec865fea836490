import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DirectoryModule } from '../directory/directory.module';
import { CallEntity } from './call.entity';
import { ChatMessageEntity } from './chat-message.entity';
import { ChatGateway } from './chat.gateway';
import { ConversationEntity } from './conversation.entity';
import { ConversationsController } from './conversations.controller';
import { ConversationsService } from './conversations.service';
import { MessageWriter } from './message-writer.service';

@Module({
  imports: [TypeOrmModule.forFeature([ConversationEntity, ChatMessageEntity, CallEntity]), DirectoryModule],
  controllers: [ConversationsController],
  providers: [ConversationsService, MessageWriter, ChatGateway],
  exports: [ConversationsService],
})
export class ConversationsModule {}
