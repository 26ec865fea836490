import { Controller, Get, Headers, HttpCode, Param, Post, Query, Req, Res, StreamableFile } from '@nestjs/common';
import { ApiBearerAuth, ApiConsumes, ApiHeader, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { AppConfig } from '../config/app-config';
import { DirectoryService } from '../directory/directory.service';
import { DomainException } from '../errors/domain.exception';
import { uuidParam } from '../http/params';
import { uploadBody } from '../http/request-timeouts';
import { CurrentPrincipal, Public, Roles } from '../identity/auth.decorators';
import type { Principal } from '../identity/principal';
import { ArtifactsService } from './artifacts.service';
import { ReadArtifactQuery } from './dto/read-artifact.query';
import { singleFile } from './multipart';

const uuid = uuidParam;

/** Capture routes and reads that state their purpose (R1.3, R3.2, R3.3). */
@ApiTags('artifacts')
@ApiBearerAuth()
@Controller()
export class ArtifactsController {
  constructor(
    private readonly artifacts: ArtifactsService,
    private readonly directory: DirectoryService,
    private readonly config: AppConfig,
  ) {}

  /** A chat attachment from the customer or the agent handling it (purpose support), multipart field `file`. */
  @Post('conversations/:id/attachments')
  @Roles('customer', 'agent', 'admin')
  @ApiConsumes('multipart/form-data')
  async attach(@CurrentPrincipal() principal: Principal, @Param('id', uuid) conversationId: string, @Req() req: Request) {
    const viewer = await this.directory.participantFor(principal);
    const max = this.config.capture.attachmentMaxBytes;
    tooLargeUpFront(req, max + 64 * 1024);
    return this.artifacts.attach(viewer, conversationId, () => singleFile(req, 'file', max), max);
  }

  /**
   * A diagnostics bundle (R3.2): the body is the file, the single-use upload
   * token from the customer's grant is the only credential.
   */
  @Post('conversations/:id/diagnostics')
  @Public()
  @HttpCode(201)
  @ApiHeader({ name: 'x-upload-token', description: 'The token handed over with the diagnostics grant' })
  @ApiHeader({ name: 'x-file-name', required: false, description: 'The bundle’s file name (URI-encoded)' })
  async diagnostics(
    @Param('id', uuid) conversationId: string,
    @Req() req: Request,
    @Headers('x-upload-token') token?: string,
    @Headers('x-file-name') rawName?: string,
  ) {
    const max = this.config.capture.diagnosticsMaxBytes;
    tooLargeUpFront(req, max);
    const length = Number(req.headers['content-length']);
    return this.artifacts.captureDiagnostics({
      token,
      conversationId,
      body: uploadBody(req),
      fileName: decodeName(rawName),
      contentLength: Number.isSafeInteger(length) && length > 0 ? length : undefined,
      maxBytes: max,
    });
  }

  /** What a conversation holds for one purpose; the purpose is required (R1.3). */
  @Get('conversations/:id/artifacts')
  async list(@CurrentPrincipal() principal: Principal, @Param('id', uuid) conversationId: string, @Query() query: ReadArtifactQuery) {
    return this.artifacts.list(await this.directory.participantFor(principal), conversationId, query.purpose, query.reason);
  }

  @Get('artifacts/:id')
  async describe(@CurrentPrincipal() principal: Principal, @Param('id', uuid) id: string, @Query() query: ReadArtifactQuery) {
    return this.artifacts.describe(await this.directory.participantFor(principal), id, query.purpose, query.reason);
  }

  /** The bytes, streamed, for the artifact's own purpose only. */
  @Get('artifacts/:id/content')
  async content(
    @CurrentPrincipal() principal: Principal,
    @Param('id', uuid) id: string,
    @Query() query: ReadArtifactQuery,
    @Res({ passthrough: true }) res: Response,
  ): Promise<StreamableFile> {
    const { artifact, body } = await this.artifacts.open(await this.directory.participantFor(principal), id, query.purpose, query.reason);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Cache-Control', 'private, no-store');
    return new StreamableFile(body, {
      type: artifact.contentType ?? 'application/octet-stream',
      length: artifact.size ?? undefined,
      disposition: `attachment; filename*=UTF-8''${encodeURIComponent(artifact.fileName ?? artifact.id)}`,
    });
  }
}

/** A declared length over the limit is refused before a byte is read. */
function tooLargeUpFront(req: Request, max: number): void {
  const length = Number(req.headers['content-length']);
  if (Number.isFinite(length) && length > max) {
    throw new DomainException('PAYLOAD_TOO_LARGE', `The upload is larger than ${Math.floor(max / (1024 * 1024))} MB`);
  }
}

function decodeName(raw: string | undefined): string | null {
  if (!raw) return null;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
