// The service with two probe routes for bench:gate: the same capture-shaped
// request (bearer token, customer lookup, conversation id), once through
// ConsentGate and once with the gate bypassed. Nothing else differs.
import 'reflect-metadata';
import { Controller, HttpCode, Module, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { startService } from '../../src/bootstrap';
import { AppConfig } from '../../src/config/app-config';
import { ConsentGate } from '../../src/consent/consent.gate';
import { ConsentModule } from '../../src/consent/consent.module';
import { DirectoryModule } from '../../src/directory/directory.module';
import { DirectoryService } from '../../src/directory/directory.service';
import { CurrentPrincipal, Roles } from '../../src/identity/auth.decorators';
import type { Principal } from '../../src/identity/principal';

@Controller('bench/capture')
class CaptureProbeController {
  constructor(
    private readonly gate: ConsentGate,
    private readonly directory: DirectoryService,
  ) {}

  @Post('gated/:conversationId')
  @HttpCode(201)
  @Roles('customer')
  async gated(@CurrentPrincipal() principal: Principal, @Param('conversationId', ParseUUIDPipe) conversationId: string) {
    const customer = await this.directory.participantFor(principal);
    const basis = await this.gate.require(customer.id, 'diagnostics', { conversationId });
    return { captured: true, legalBasis: basis.legalBasis, consentEventId: basis.event?.id ?? null };
  }

  @Post('bypassed/:conversationId')
  @HttpCode(201)
  @Roles('customer')
  async bypassed(@CurrentPrincipal() principal: Principal, @Param('conversationId', ParseUUIDPipe) conversationId: string) {
    const customer = await this.directory.participantFor(principal);
    return { captured: true, legalBasis: 'bypassed', consentEventId: null, customerId: customer.id, conversationId };
  }
}

@Module({ imports: [ConsentModule, DirectoryModule], controllers: [CaptureProbeController] })
class CaptureProbeModule {}

async function main(): Promise<void> {
  const service = await startService(AppConfig.fromEnv(process.env), { imports: [CaptureProbeModule] });
  const stop = () => void service.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.stdout.write(`listening ${service.url}\n`);
}

void main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
