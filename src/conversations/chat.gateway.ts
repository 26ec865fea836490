import { Logger, UsePipes, ValidationPipe } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import {
  ConnectedSocket,
  MessageBody,
  type OnGatewayConnection,
  SubscribeMessage,
  WebSocketGateway,
  WebSocketServer,
} from '@nestjs/websockets';
import type { Namespace, Socket } from 'socket.io';
import { DirectoryService, type Participant } from '../directory/directory.service';
import { replyWithError, SocketExceptions } from '../errors/all-exceptions.filter';
import { DomainException } from '../errors/domain.exception';
import { Roles } from '../identity/auth.decorators';
import type { SocketData } from '../identity/principal-of';
import { CONVERSATION_EVENTS, type ConversationChangedEvent, type MessagesCreatedEvent, type RecordingStopEvent } from './conversation.events';
import type { ConversationView, MessageView } from './conversation.views';
import { ConversationsService } from './conversations.service';
import { ConversationRefEvent, JoinConversationEvent, parseSendMessageEvent } from './dto/conversation.dto';
import { rooms } from './chat-rooms';
import { safeErrorText } from '../logging/logger';

interface ChatSocketData extends SocketData {
  participant?: Promise<Participant>;
}

/** Resume sends at most this many missed messages per join; the client asks again from the last one. */
const RESUME_LIMIT = 1000;


/**
 * Live chat (namespace /chat). Sockets are authenticated at the handshake
 * (SocketAuthAdapter). Every event answers through its acknowledgement:
 * the result, or `{ error: { code, message } }`. Broadcasts follow commits.
 */
@WebSocketGateway({ namespace: '/chat' })
@SocketExceptions()
@UsePipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }))
export class ChatGateway implements OnGatewayConnection {
  @WebSocketServer() private readonly server: Namespace;
  private readonly logger = new Logger(ChatGateway.name);

  constructor(
    private readonly conversations: ConversationsService,
    private readonly directory: DirectoryService,
  ) {}

  handleConnection(socket: Socket): void {
    const data = socket.data as ChatSocketData;
    // The hot path, bound straight to the socket: no role check applies to it, and skipping the
    // framework's per-event pipeline (guards, pipes, observables) is what lets it keep up (bench:chat).
    socket.on('message.send', (payload: unknown, ack: unknown) => void this.send(socket, payload, ack));
    data.participant = this.directory.participantFor(data.principal!).then(async (participant) => {
      await socket.join(rooms.participant(participant.id));
      if (participant.kind === 'staff' && (participant.roles.includes('agent') || participant.roles.includes('admin'))) {
        await socket.join(rooms.agents);
      }
      // From here on the socket receives its broadcasts (queue, assignments): clients wait for this.
      socket.emit('ready', { participant: { kind: participant.kind, id: participant.id } });
      return participant;
    });
    data.participant.catch(() => socket.disconnect(true));
  }

  @Roles('customer')
  @SubscribeMessage('conversation.open')
  async open(@ConnectedSocket() socket: Socket): Promise<{ conversation: ConversationView }> {
    const conversation = await this.conversations.openChat(await participantOf(socket));
    await socket.join(rooms.conversation(conversation.id));
    return { conversation };
  }

  /** `message.send`: acknowledged with the sequence number once committed, or with `{ error }`. */
  private async send(socket: Socket, payload: unknown, ack: unknown): Promise<void> {
    try {
      const event = parseSendMessageEvent(payload);
      const { message, duplicate } = await this.conversations.send(await participantOf(socket), event.conversationId, event.clientMessageId, event.body);
      if (typeof ack === 'function') (ack as (answer: unknown) => void)({ id: message.id, seq: message.seq, createdAt: message.createdAt, duplicate });
    } catch (err) {
      replyWithError(socket, err, ack, this.logger);
    }
  }

  /** Join (or rejoin after a reconnect): the conversation, and every message after `afterSeq`, in order. */
  @SubscribeMessage('conversation.join')
  async join(@ConnectedSocket() socket: Socket, @MessageBody() event: JoinConversationEvent) {
    const { conversation, messagesAfter } = await this.conversations.openForReading(await participantOf(socket), event.conversationId);
    // Join before reading, so nothing committed in between is missed (the client drops seqs it has).
    await socket.join(rooms.conversation(conversation.id));
    const missed = await messagesAfter(event.afterSeq, RESUME_LIMIT);
    return { conversation, messages: missed.items, nextAfter: missed.nextAfter };
  }

  @SubscribeMessage('conversation.leave')
  async leave(@ConnectedSocket() socket: Socket, @MessageBody() event: ConversationRefEvent) {
    await socket.leave(rooms.conversation(event.conversationId));
    return { ok: true };
  }

  @Roles('agent', 'admin')
  @SubscribeMessage('queue.list')
  async queue(@ConnectedSocket() socket: Socket) {
    const page = await this.conversations.list(await participantOf(socket), { unassigned: true, limit: 100 });
    return { conversations: page.items };
  }

  @Roles('agent', 'admin')
  @SubscribeMessage('conversation.take')
  async take(@ConnectedSocket() socket: Socket, @MessageBody() event: ConversationRefEvent) {
    const conversation = await this.conversations.assign(await participantOf(socket), event.conversationId);
    await socket.join(rooms.conversation(conversation.id));
    return { conversation };
  }

  @SubscribeMessage('conversation.close')
  async close(@ConnectedSocket() socket: Socket, @MessageBody() event: ConversationRefEvent) {
    return { conversation: await this.conversations.close(await participantOf(socket), event.conversationId) };
  }

  @OnEvent(CONVERSATION_EVENTS.messagesCreated)
  onMessages({ messages }: MessagesCreatedEvent): void {
    for (const message of messages) this.server.to(rooms.conversation(message.conversationId)).emit('message', message satisfies MessageView);
  }

  @OnEvent(CONVERSATION_EVENTS.opened)
  onOpened({ conversation }: ConversationChangedEvent): void {
    if (conversation.assignedAgentId === null) this.server.to(rooms.agents).emit('queue.added', conversation);
  }

  @OnEvent(CONVERSATION_EVENTS.assigned)
  onAssigned({ conversation, previousAgentId }: ConversationChangedEvent): void {
    if (previousAgentId) {
      // Reassigned: the previous agent's sockets (on any instance) stop receiving its messages.
      this.server.in(rooms.participant(previousAgentId)).socketsLeave(rooms.conversation(conversation.id));
      this.server.to(rooms.participant(previousAgentId)).emit('conversation.assigned', conversation);
    }
    this.server
      .to(rooms.conversation(conversation.id))
      .to(rooms.participant(conversation.assignedAgentId!))
      .to(rooms.participant(conversation.customerId))
      .emit('conversation.assigned', conversation);
    this.server.to(rooms.agents).emit('queue.removed', { conversationId: conversation.id });
  }

  /** R3.4: the agent's console stops recording at once (emitted by telephony after a withdrawal). */
  @OnEvent(CONVERSATION_EVENTS.recordingStop)
  onRecordingStop(event: RecordingStopEvent): void {
    void this.conversations
      .viewById(event.conversationId)
      .then((conversation) => {
        const audience = [rooms.conversation(conversation.id)];
        if (conversation.assignedAgentId) audience.push(rooms.participant(conversation.assignedAgentId));
        this.server.to(audience).emit('recording.stop', event);
      })
      .catch((err: unknown) => this.logger.error(`recording.stop not delivered: ${safeErrorText(err)}`));
  }

  @OnEvent(CONVERSATION_EVENTS.closed)
  onClosed({ conversation }: ConversationChangedEvent): void {
    // The assigned agent hears of it even when assigned elsewhere (by an admin, or by the phone system).
    const audience = this.server.to(rooms.conversation(conversation.id)).to(rooms.participant(conversation.customerId));
    (conversation.assignedAgentId ? audience.to(rooms.participant(conversation.assignedAgentId)) : audience).emit(
      'conversation.closed',
      conversation,
    );
    this.server.to(rooms.agents).emit('queue.removed', { conversationId: conversation.id });
  }
}

async function participantOf(socket: Socket): Promise<Participant> {
  const participant = (socket.data as ChatSocketData).participant;
  if (!participant) throw new DomainException('UNAUTHENTICATED', 'This connection is not signed in');
  return participant;
}
