import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { DirectoryService } from '../directory/directory.service';
import { uuidParam } from '../http/params';
import { CurrentPrincipal, Roles } from '../identity/auth.decorators';
import type { Principal } from '../identity/principal';
import { ConversationsService } from './conversations.service';
import { AssignConversationDto, HistoryQuery, ListConversationsQuery, PostMessageDto } from './dto/conversation.dto';

const uuid = uuidParam;

/** The same domain as the /chat socket, over REST. Visibility rules live in ConversationsService. */
@ApiTags('conversations')
@ApiBearerAuth()
@Controller('conversations')
export class ConversationsController {
  constructor(
    private readonly conversations: ConversationsService,
    private readonly directory: DirectoryService,
  ) {}

  @Post()
  @Roles('customer')
  async open(@CurrentPrincipal() principal: Principal) {
    return this.conversations.openChat(await this.directory.participantFor(principal));
  }

  @Get()
  async list(@CurrentPrincipal() principal: Principal, @Query() query: ListConversationsQuery) {
    return this.conversations.list(await this.directory.participantFor(principal), query);
  }

  @Get(':id')
  async get(@CurrentPrincipal() principal: Principal, @Param('id', uuid) id: string) {
    return this.conversations.get(await this.directory.participantFor(principal), id);
  }

  /** History, oldest first, paged by sequence number: `?after=<last seq seen>&limit=`. */
  @Get(':id/messages')
  async history(@CurrentPrincipal() principal: Principal, @Param('id', uuid) id: string, @Query() query: HistoryQuery) {
    return this.conversations.history(await this.directory.participantFor(principal), id, query.after, query.limit);
  }

  @Post(':id/messages')
  async post(@CurrentPrincipal() principal: Principal, @Param('id', uuid) id: string, @Body() dto: PostMessageDto) {
    const { message, duplicate } = await this.conversations.send(await this.directory.participantFor(principal), id, dto.clientMessageId, dto.body);
    return { ...message, duplicate };
  }

  @Post(':id/assign')
  @HttpCode(200)
  @Roles('agent', 'admin')
  async assign(@CurrentPrincipal() principal: Principal, @Param('id', uuid) id: string, @Body() dto: AssignConversationDto) {
    return this.conversations.assign(await this.directory.participantFor(principal), id, dto.agentId);
  }

  @Post(':id/close')
  @HttpCode(200)
  async close(@CurrentPrincipal() principal: Principal, @Param('id', uuid) id: string) {
    return this.conversations.close(await this.directory.participantFor(principal), id);
  }
}
