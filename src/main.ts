import 'reflect-metadata';
import { startService } from './bootstrap';
import type { AppConfig } from './config/app-config';
import { loadConfigOrExit } from './config/load-config';
import { TokenService } from './identity/token.service';
import { showDemoTokens } from './logging/demo-tokens';
import { scrubText } from './logging/scrub';

const SHUTDOWN_DEADLINE_MS = 20_000;

async function main(): Promise<void> {
  const config = loadConfigOrExit();

  const service = await startService(config);
  const docs = config.apiDocs === 'off' ? '' : `API docs: ${service.url}/docs, `;
  service.logger.info({ url: service.url }, `listening on ${service.url} (${docs}readiness: ${service.url}/health/ready)`);

  let shuttingDown = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (shuttingDown) return;
    shuttingDown = true;
    service.logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      service.logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    service.close().then(
      () => {
        service.logger.info('stopped');
        service.logger.flush(() => process.exit(0));
      },
      (err: unknown) => {
        service.logger.error({ err }, 'shutdown failed');
        service.logger.flush(() => process.exit(1));
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);

  if (service.embedded && config.auth.demoSecret) await printDemoTokens(service.app.get(TokenService), service.url, config);
}

/**
 * For trying the service locally: tokens signed with the published demo secret.
 * To the terminal, or to a file when stdout is not one; never through the logger.
 */
async function printDemoTokens(tokens: TokenService, url: string, config: AppConfig): Promise<void> {
  // The staff cap (STAFF_TOKEN_MAX_HOURS) bounds them: a leaked demo token stops working within a working day.
  const ttlSeconds = Math.min(config.auth.maxLifetimeSeconds.staff, config.auth.maxLifetimeSeconds.customer);
  const agent = await tokens.mint({ subject: 'demo-agent', roles: ['agent'], ttlSeconds });
  const customer = await tokens.mint({ subject: 'demo-customer', roles: ['customer'], locale: 'nl-NL', ttlSeconds });
  const officer = await tokens.mint({ subject: 'demo-officer', roles: ['privacy_officer'], ttlSeconds });
  await showDemoTokens(
    [
      '',
      `Support desk is running at ${url}  (API docs: ${url}/docs, readiness: ${url}/health/ready)`,
      `Demo tokens (embedded mode, demo secret, valid ${ttlSeconds / 3600} h):`,
      `  agent            ${agent}`,
      `  customer         ${customer}`,
      `  privacy officer  ${officer}`,
      `Try: curl -H "Authorization: Bearer <token>" ${url}/me`,
      '',
    ].join('\n') + '\n',
    { isTTY: process.stdout.isTTY === true, dataDir: config.dataDir, write: (text) => process.stdout.write(text) },
  );
}

main().catch((err: unknown) => {
  // Not through the logger (it may not exist yet); no client has been heard yet, but scrubbed all the same (R5.1).
  process.stderr.write(scrubText(`Start-up failed: ${err instanceof Error ? err.message : String(err)}`) + '\n');
  process.exit(1);
});
