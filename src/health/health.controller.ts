import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { Public } from '../identity/auth.decorators';
import { RateLimitAs } from '../rate-limit/rate-limit.decorators';
import { BlobStoreHealthIndicator } from '../storage/blob-store.health';

@ApiTags('health')
@Public()
// Load balancers poll these; they read no personal data.
@RateLimitAs('none')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly blobs: BlobStoreHealthIndicator,
  ) {}

  /** Liveness: the process answers. */
  @Get()
  @ApiOkResponse({ description: 'The process is alive' })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Readiness: the database and the blob store answer. */
  @Get('ready')
  @HealthCheck()
  @ApiOkResponse({ description: 'Database and blob store reachable' })
  @ApiServiceUnavailableResponse({ description: 'A dependency is down' })
  ready() {
    return this.health.check([
      () => this.database.pingCheck('database', { timeout: 3000 }),
      () => this.blobs.check('blobStore'),
    ]);
  }
}
