import { Logger, UsePipes, ValidationPipe } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { ConnectedSocket, MessageBody, type OnGatewayConnection, SubscribeMessage, WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import type { Namespace, Socket } from 'socket.io';
import { rooms } from '../conversations/chat-rooms';
import { ConversationsService } from '../conversations/conversations.service';
import { DirectoryService, type Participant } from '../directory/directory.service';
import { SocketExceptions } from '../errors/all-exceptions.filter';
import { DomainException } from '../errors/domain.exception';
import { Roles } from '../identity/auth.decorators';
import type { SocketData } from '../identity/principal-of';
import {
  CONSENT_EVENTS,
  type ConsentDecidedEvent,
  type ConsentExpiredEvent,
  type ConsentRequestedEvent,
  type ConsentWithdrawnEvent,
} from './consent.events';
import { ConsentService, userAgentEvidence } from './consent.service';
import type { ConsentEventView } from './consent.views';
import { AnswerConsentEvent, AskConsentEvent, ConversationConsentEvent, WithdrawConsentEvent } from './dto/consent.dto';
import { safeErrorText } from '../logging/logger';

/** What the agent's console and the customer's other screens see of a decision: no evidence, no token. */
export interface ConsentOutcome {
  conversationId: string | null;
  requestId: string | null;
  purpose: string;
  outcome: 'granted' | 'denied' | 'withdrawn' | 'expired';
  scope: ConsentEventView['scope'];
  channel: ConsentEventView['channel'];
  eventId: string;
  occurredAt: string;
}

const outcomeOf = (e: ConsentEventView): ConsentOutcome => ({
  conversationId: e.conversationId,
  requestId: e.requestId,
  purpose: e.purpose,
  outcome: e.type as ConsentOutcome['outcome'],
  scope: e.scope,
  channel: e.channel,
  eventId: e.id,
  occurredAt: e.occurredAt,
});

/**
 * Consent in the live chat (namespace /chat, next to ChatGateway): the agent
 * asks, the customer gets the prompt in their language and answers, the agent
 * sees the outcome as it happens (R1.1, R3.2, R3.4).
 */
@WebSocketGateway({ namespace: '/chat' })
@SocketExceptions()
@UsePipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }))
export class ConsentGateway implements OnGatewayConnection {
  @WebSocketServer() private readonly server: Namespace;
  private readonly logger = new Logger(ConsentGateway.name);

  constructor(
    private readonly consent: ConsentService,
    private readonly conversations: ConversationsService,
    private readonly directory: DirectoryService,
  ) {}

  /** R2.1: a customer's client language (handshake `auth.locale`, else Accept-Language) counts when their profile names none. */
  handleConnection(socket: Socket): void {
    const principal = (socket.data as SocketData).principal;
    if (principal?.kind !== 'customer') return;
    const fromAuth = (socket.handshake.auth as { locale?: unknown } | undefined)?.locale;
    const declared = typeof fromAuth === 'string';
    const hint = declared ? fromAuth : socket.handshake.headers['accept-language'];
    if (!hint) return;
    void this.directory
      .participantFor(principal)
      .then((customer) => this.directory.noteClientLocale(customer.id, hint, { declared }))
      .catch((err: unknown) => this.logger.warn(`could not note a client locale: ${safeErrorText(err)}`));
  }

  @Roles('agent', 'admin')
  @SubscribeMessage('consent.request')
  async request(@ConnectedSocket() socket: Socket, @MessageBody() event: AskConsentEvent) {
    return this.consent.request(await this.participant(socket), event.conversationId, event.purposes);
  }

  /** R1.1: only the customer's own socket can answer. */
  @Roles('customer')
  @SubscribeMessage('consent.answer')
  async answer(@ConnectedSocket() socket: Socket, @MessageBody() event: AnswerConsentEvent) {
    const evidence = userAgentEvidence(socket.handshake.headers['user-agent'], 'socket');
    return this.consent.answer(await this.participant(socket), event.requestId, event.decision, event.textHash, { channel: 'chat', evidence });
  }

  @Roles('customer')
  @SubscribeMessage('consent.withdraw')
  async withdraw(@ConnectedSocket() socket: Socket, @MessageBody() event: WithdrawConsentEvent) {
    const evidence = userAgentEvidence(socket.handshake.headers['user-agent'], 'socket');
    return { ledgerEvent: await this.consent.withdrawInConversation(await this.participant(socket), event.conversationId, event.purpose, { channel: 'chat', evidence }) };
  }

  @SubscribeMessage('consent.list')
  async list(@ConnectedSocket() socket: Socket, @MessageBody() event: ConversationConsentEvent) {
    return { requests: await this.consent.requestsIn(await this.participant(socket), event.conversationId) };
  }

  @OnEvent(CONSENT_EVENTS.requested)
  onRequested(e: ConsentRequestedEvent): void {
    this.server.to(rooms.participant(e.customerId)).emit('consent.requested', { conversationId: e.conversationId, prompts: e.prompts });
  }

  @OnEvent(CONSENT_EVENTS.decided)
  onDecided(e: ConsentDecidedEvent): void {
    const audience = [rooms.participant(e.event.customerId)];
    if (e.event.conversationId) audience.push(rooms.conversation(e.event.conversationId));
    if (e.request) audience.push(rooms.participant(e.request.requestedBy));
    this.server.to(audience).emit('consent.answered', outcomeOf(e.event));
    // R3.2: the customer's application (any of their sockets) gets the upload token; nobody else does.
    if (e.uploadToken) this.server.to(rooms.participant(e.event.customerId)).emit('diagnostics.upload-token', e.uploadToken);
  }

  @OnEvent(CONSENT_EVENTS.withdrawn, { async: true, promisify: true })
  async onWithdrawn(e: ConsentWithdrawnEvent): Promise<void> {
    const audience = [rooms.participant(e.event.customerId)];
    try {
      if (e.event.conversationId) audience.push(rooms.conversation(e.event.conversationId));
      else {
        // A standing withdrawal holds in every conversation: their agents hear of it.
        for (const c of await this.conversations.openConversationsOf(e.event.customerId)) {
          audience.push(rooms.conversation(c.id));
          if (c.assignedAgentId) audience.push(rooms.participant(c.assignedAgentId));
        }
      }
    } catch (err) {
      this.logger.warn(`could not find the conversations a withdrawal concerns: ${safeErrorText(err)}`);
    }
    this.server.to(audience).emit('consent.withdrawn', outcomeOf(e.event));
  }

  @OnEvent(CONSENT_EVENTS.expired)
  onExpired(e: ConsentExpiredEvent): void {
    this.server
      .to([rooms.participant(e.request.customerId), rooms.conversation(e.request.conversationId), rooms.participant(e.request.requestedBy)])
      .emit('consent.expired', outcomeOf(e.event));
  }

  private async participant(socket: Socket): Promise<Participant> {
    const principal = (socket.data as SocketData).principal;
    if (!principal) throw new DomainException('UNAUTHENTICATED', 'This connection is not signed in');
    return this.directory.participantFor(principal);
  }
}
