import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBadRequestResponse, ApiConflictResponse, ApiCreatedResponse, ApiNoContentResponse, ApiNotFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { ApiErrorResponses } from '../common/api-docs';
import { IdPipe } from '../common/id.pipe';
import { ApiKeyResponse, CreateApiKeyDto, CreatedApiKeyResponse } from './api-keys.dto';
import { ApiKeyNotFoundError, ApiKeysService } from './api-keys.service';
import { RequireRole } from './roles';
import { Audited } from '../audit/audited.decorator';

const KeyIdPipe = new IdPipe(ApiKeyNotFoundError);

@ApiTags('keys')
@ApiErrorResponses()
@RequireRole('admin')
@Controller('api/keys')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Get()
  @ApiOkResponse({ type: [ApiKeyResponse], description: 'Every key, newest first; never the key itself.' })
  async list(): Promise<ApiKeyResponse[]> {
    return (await this.keys.list()).map(ApiKeyResponse.from);
  }

  @Audited('key.create', 'key')
  @Post()
  @ApiCreatedResponse({ type: CreatedApiKeyResponse, description: 'The key is in `key`, this once: store it now. Use it as Authorization: Bearer <key>.' })
  @ApiBadRequestResponse({ description: 'A field is invalid (e.g. expiresAt in the past).' })
  @ApiConflictResponse({ description: 'A key with that name exists.' })
  async create(@Body() input: CreateApiKeyDto): Promise<CreatedApiKeyResponse> {
    const { entity, key } = await this.keys.create(input);
    return { ...ApiKeyResponse.from(entity), key };
  }

  @Audited('key.revoke', 'key')
  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Revoked: the next request with the key gets 401.' })
  @ApiNotFoundResponse({ description: 'No key with that id.' })
  async remove(@Param('id', KeyIdPipe) id: number): Promise<void> {
    await this.keys.remove(id);
  }
}
