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

  /** The gate's cold path: the ledger read a cache miss costs (first check on an instance, or right after a change). */
  @Post('gated-cold/:conversationId')
  @HttpCode(201)
  @Roles('customer')
  async gatedCold(@CurrentPrincipal() principal: Principal, @Param('conversationId', ParseUUIDPipe) conversationId: string) {
    const customer = await this.directory.participantFor(principal);
    const check = await this.gate.read(customer.id, 'diagnostics', conversationId);
    if (!check.allowed) throw new Error('no consent');
    return { captured: true, legalBasis: check.basis.legalBasis, consentEventId: check.basis.event?.id ?? null };
  }

  @Post('bypassed/:conversationId')
  @HttpCode(201)
  @Roles('customer')
  bypassed(@CurrentPrincipal() principal: Principal, @Param('conversationId', ParseUUIDPipe) conversationId: string) {
    return this.withoutGate(principal, conversationId);
  }

  /** The same bypassed route under a second name: the A/A control that shows the run's own noise. */
  @Post('bypassed-twin/:conversationId')
  @HttpCode(201)
  @Roles('customer')
  bypassedTwin(@CurrentPrincipal() principal: Principal, @Param('conversationId', ParseUUIDPipe) conversationId: string) {
    return this.withoutGate(principal, conversationId);
  }

  private async withoutGate(principal: Principal, conversationId: string) {
    const customer = await this.directory.participantFor(principal);
    return { captured: true, legalBasis: 'bypassed', consentEventId: null, customerId: customer.id, conversationId };
  }
}

/** The gate call alone, timed in the service process: what it costs without HTTP and scheduling around it. */
@Controller('bench/gate-call')
class GateCallController {
  constructor(
    private readonly gate: ConsentGate,
    private readonly directory: DirectoryService,
  ) {}

  @Post(':conversationId')
  @Roles('customer')
  async time(@CurrentPrincipal() principal: Principal, @Param('conversationId', ParseUUIDPipe) conversationId: string) {
    const customer = await this.directory.participantFor(principal);
    const time = async (call: () => Promise<unknown>) => {
      const samples: number[] = [];
      for (let i = 0; i < 5000; i++) {
        const started = process.hrtime.bigint();
        await call();
        samples.push(Number(process.hrtime.bigint() - started) / 1e6);
      }
      samples.sort((a, b) => a - b);
      return { p50: samples[2500], p99: samples[4950] };
    };
    return {
      warm: await time(() => this.gate.require(customer.id, 'diagnostics', { conversationId })),
      cold: await time(() => this.gate.read(customer.id, 'diagnostics', conversationId)),
    };
  }
}

@Module({ imports: [ConsentModule, DirectoryModule], controllers: [CaptureProbeController, GateCallController] })
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
