import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { AppConfig } from '../config/app-config';
import { CurrentPrincipal, Roles } from '../identity/auth.decorators';
import { STAFF_ROLES, type Principal } from '../identity/principal';
import { VERSION } from '../version';

export interface ProcessorView {
  role: 'database' | 'blob storage' | 'identity provider';
  name: string;
  location: string;
}

/** Who am I, and where does data go: the processors this instance is configured with (R1.5). */
@ApiTags('system')
@Controller()
export class SystemController {
  private readonly startedAt = new Date();

  constructor(private readonly config: AppConfig) {}

  @Get('me')
  @ApiOkResponse({ description: 'The caller as the service sees them' })
  me(@CurrentPrincipal() principal: Principal) {
    return principal;
  }

  @Get('system')
  @Roles(...STAFF_ROLES)
  @ApiOkResponse({ description: 'Version, uptime and the configured processors (staff only)' })
  system() {
    return {
      version: VERSION,
      environment: this.config.env,
      startedAt: this.startedAt.toISOString(),
      authentication: this.config.auth.oidc ? 'oidc' : 'local',
      processors: this.processors(),
    };
  }

  private processors(): ProcessorView[] {
    const { database, storage, auth } = this.config;
    const list: ProcessorView[] = [
      database.url
        ? { role: 'database', name: 'PostgreSQL', location: hostOf(database.url) }
        : { role: 'database', name: 'PostgreSQL (embedded)', location: 'this machine' },
      storage.driver === 's3'
        ? {
            role: 'blob storage',
            name: `S3 bucket ${storage.bucket}`,
            location: storage.endpoint ? hostOf(storage.endpoint) : `AWS ${storage.region}`,
          }
        : { role: 'blob storage', name: 'filesystem', location: 'this machine' },
    ];
    if (auth.oidc) list.push({ role: 'identity provider', name: 'OIDC issuer', location: hostOf(auth.oidc.issuer) });
    return list;
  }
}

/** Host only: a URL's credentials and path are not for display. */
function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'unknown';
  }
}
