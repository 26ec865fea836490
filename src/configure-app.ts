import { ValidationPipe } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import helmet from 'helmet';
import { DataSource } from 'typeorm';
import { AppConfig } from './config/app-config';
import { Logger } from 'nestjs-pino';
import { jsonBodyParser } from './http/body-parsers';
import { answerClientError } from './http/client-errors';
import { requestTimeouts } from './http/request-timeouts';
import { SocketAuthAdapter } from './identity/socket-auth.adapter';
import { TokenService } from './identity/token.service';
import { VERSION } from './version';

/** Everything applied to the Nest application, shared by main.ts and the end-to-end tests. */
export function configureApp(app: NestExpressApplication): void {
  app.useLogger(app.get(Logger));
  app.flushLogs();
  app.disable('x-powered-by');
  app.use(helmet());
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
  // Node ends any request after 5 minutes; a 1 GB diagnostics bundle or recording on a slow line needs longer.
  app.getHttpServer().requestTimeout = 3_600_000;
  const config = app.get(AppConfig);
  // Before Nest's own parsers: a body has REQUEST_TIMEOUT_SECONDS to arrive (uploads opt out), JSON a depth limit.
  app.use(requestTimeouts(config.timeouts));
  app.use(jsonBodyParser());
  app.getHttpServer().on('clientError', answerClientError);
  const postgresUrl = config.chat.socketAdapter === 'postgres' ? (app.get(DataSource).options as { url?: string }).url : undefined;
  app.useWebSocketAdapter(new SocketAuthAdapter(app, app.get(TokenService), { postgresUrl }));
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Support desk')
      .setDescription('Support chats and calls with consent before capture, purpose and retention tags, scheduled purge.')
      .setVersion(VERSION)
      .addBearerAuth()
      .addSecurityRequirements('bearer')
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/json' });
}
