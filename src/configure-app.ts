import { type LoggerService, ValidationPipe } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
import { DataSource } from 'typeorm';
import { AppConfig } from './config/app-config';
import { Logger } from 'nestjs-pino';
import { DomainException } from './errors/domain.exception';
import { jsonBodyParser } from './http/body-parsers';
import { answerClientError } from './http/client-errors';
import { requestTimeouts } from './http/request-timeouts';
import { mapError } from './errors/error-mapping';
import { bearerToken } from './identity/auth.guard';
import { SocketAuthAdapter } from './identity/socket-auth.adapter';
import { TokenService } from './identity/token.service';
import { RateLimitService } from './rate-limit/rate-limit.service';
import { VERSION } from './version';

/** Everything applied to the Nest application, shared by main.ts and the end-to-end tests. */
export function configureApp(app: NestExpressApplication): void {
  app.useLogger(quietStartup(app.get(Logger)));
  app.flushLogs();
  app.disable('x-powered-by');
  const config = app.get(AppConfig);
  // Behind a load balancer the client address is in X-Forwarded-For: per-address limits need the real one.
  app.set('trust proxy', config.http.trustProxyHops);
  app.use(helmet());
  // Answers may hold personal data: no cache, shared or private, keeps a copy (downloads say so themselves).
  // First, so a body refused while it is read carries it too.
  app.use((_req: Request, res: Response, next: NextFunction) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  // Before Nest's own parsers: a body has REQUEST_TIMEOUT_SECONDS to arrive (uploads opt out), JSON a depth limit.
  app.use(requestTimeouts(config.timeouts));
  app.use(jsonBodyParser());
  app.getHttpServer().on('clientError', answerClientError);
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
  // Node ends any request after 5 minutes; a 1 GB diagnostics bundle or recording on a slow line needs longer.
  app.getHttpServer().requestTimeout = 3_600_000;
  const postgresUrl = config.chat.socketAdapter === 'postgres' ? (app.get(DataSource).options as { url?: string }).url : undefined;
  app.useWebSocketAdapter(new SocketAuthAdapter(app, app.get(TokenService), app.get(RateLimitService), config, { postgresUrl }));
  if (config.apiDocs === 'off') return;
  // In production the route map is for staff only (or for nobody): API_DOCS.
  // Everything the document is served as lives under /docs (UI, JSON, YAML), so one guard covers it.
  if (config.apiDocs === 'staff') app.use('/docs', staffOnly(app.get(TokenService)));
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
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/json', yamlDocumentUrl: 'docs/yaml' });
}

/** Middleware for routes outside Nest's guards: a valid staff token, or 401/403 with the usual body. */
function staffOnly(tokens: TokenService) {
  return (req: Request, res: Response, next: NextFunction) => {
    void (async () => {
      const token = bearerToken(req.headers.authorization);
      if (!token) throw new DomainException('UNAUTHENTICATED', 'The API document needs a staff bearer token');
      const principal = await tokens.verify(token);
      if (principal.kind !== 'staff') throw new DomainException('FORBIDDEN', 'The API document is for staff only');
    })().then(
      () => next(),
      (err: unknown) => {
        const { status, body } = mapError(err, '');
        res.status(status).json(body);
      },
    );
  };
}

/** Nest's start-up lists every module, route and socket event at info: a hundred lines that hide the few that matter. */
const STARTUP_CONTEXTS = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'WebSocketsController']);

function quietStartup(logger: Logger): LoggerService {
  return {
    log: (message: unknown, ...rest: unknown[]) =>
      STARTUP_CONTEXTS.has(String(rest[rest.length - 1])) ? logger.debug(message, ...rest) : logger.log(message, ...rest),
    error: (message: unknown, ...rest: unknown[]) => logger.error(message, ...rest),
    warn: (message: unknown, ...rest: unknown[]) => logger.warn(message, ...rest),
    debug: (message: unknown, ...rest: unknown[]) => logger.debug(message, ...rest),
    verbose: (message: unknown, ...rest: unknown[]) => logger.verbose(message, ...rest),
    fatal: (message: unknown, ...rest: unknown[]) => logger.fatal(message, ...rest),
  };
}
