import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { RequireRole } from '../auth/roles';
import { ApiErrorResponses } from '../common/api-docs';
import { AuditEntryResponse, AuditQuery } from './audit.dto';
import { AuditService } from './audit.service';

@ApiTags('audit')
@ApiErrorResponses()
@Controller('api/audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @RequireRole('admin')
  @Get()
  @ApiOkResponse({ type: [AuditEntryResponse], description: 'Newest first. Next page: before=<the last id>.' })
  async list(@Query() query: AuditQuery): Promise<AuditEntryResponse[]> {
    return (await this.audit.list(query)).map(AuditEntryResponse.from);
  }
}
