import type { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { createAdapter } from '@socket.io/postgres-adapter';
import { Pool } from 'pg';
import type { Server, ServerOptions, Socket } from 'socket.io';
import { DomainException } from '../errors/domain.exception';
import { guardSocketPayloads } from '../http/socket-payload-guard';
import { bearerToken } from './auth.guard';
import type { SocketData } from './principal-of';
import { type TokenService } from './token.service';

type Next = (err?: Error) => void;

export interface SocketAdapterOptions {
  /** Set to span rooms across instances through PostgreSQL (SOCKET_ADAPTER=postgres). */
  postgresUrl?: string;
}

/**
 * Socket.IO with the same token check as HTTP, at the handshake, on every
 * namespace: a socket without a valid token never connects. The refusal
 * arrives as `connect_error` whose `data` is `{ code, message }`.
 * With a PostgreSQL URL, rooms span every instance on that database.
 */
export class SocketAuthAdapter extends IoAdapter {
  private pool?: Pool;

  constructor(
    app: INestApplicationContext,
    private readonly tokens: TokenService,
    private readonly options: SocketAdapterOptions = {},
  ) {
    super(app);
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    const server = super.createIOServer(port, options);
    if (this.options.postgresUrl) {
      this.pool ??= new Pool({ connectionString: this.options.postgresUrl, max: 4, application_name: 'support-desk-sockets' });
      this.pool.on('error', () => undefined); // a dropped connection is re-established by the adapter
      server.adapter(createAdapter(this.pool, { tableName: 'socket_io_attachments' }));
    }
    const authenticate = (socket: Socket, next: Next) => void this.authenticate(socket, next);
    server.use(authenticate);
    server.on('new_namespace', (namespace) => namespace.use(authenticate));
    // Every event's payload is checked for depth and size before any handler sees it.
    const guard = (socket: Socket, next: Next) => {
      guardSocketPayloads(socket);
      next();
    };
    server.use(guard);
    server.on('new_namespace', (namespace) => namespace.use(guard));
    return server;
  }

  override async close(server: Server): Promise<void> {
    await super.close(server);
    const pool = this.pool;
    this.pool = undefined;
    await pool?.end();
  }

  private async authenticate(socket: Socket, next: Next): Promise<void> {
    const fromAuth = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    const token = typeof fromAuth === 'string' ? fromAuth : bearerToken(socket.handshake.headers.authorization);
    try {
      if (!token) throw new DomainException('UNAUTHENTICATED', 'Connect with a bearer token (auth.token)');
      (socket.data as SocketData).principal = await this.tokens.verify(token);
      next();
    } catch (err) {
      const body =
        err instanceof DomainException
          ? { code: err.code, message: err.message }
          : { code: 'UNAUTHENTICATED', message: 'The connection could not be authenticated' };
      next(Object.assign(new Error(body.message), { data: body }));
    }
  }
}
