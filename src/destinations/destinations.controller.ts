import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { ApiBadRequestResponse, ApiConflictResponse, ApiCreatedResponse, ApiNoContentResponse, ApiNotFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Audited } from '../audit/audited.decorator';
import { RequireRole } from '../auth/roles';
import { ApiErrorResponses } from '../common/api-docs';
import { DestinationNotFoundError } from '../common/errors';
import { IdPipe } from '../common/id.pipe';
import type { DestinationEntity } from './destination.entity';
import { DestinationsService } from './destinations.service';
import { CreateDestinationDto, DestinationCheckResponse, DestinationResponse, UpdateDestinationDto } from './dto/destination.dto';

const DestinationIdPipe = new IdPipe(DestinationNotFoundError);

@ApiTags('destinations')
@ApiErrorResponses()
@Controller('api/destinations')
export class DestinationsController {
  constructor(private readonly destinations: DestinationsService) {}

  private async present(list: DestinationEntity[]): Promise<DestinationResponse[]> {
    const usage = await this.destinations.usage();
    return list.map((destination) => DestinationResponse.from(destination, this.destinations.remoteOf(destination), usage.get(destination.id) ?? 0));
  }

  @RequireRole('viewer')
  @Get()
  @ApiOkResponse({ type: [DestinationResponse], description: 'Every destination, the built-in `default` first.' })
  async list(): Promise<DestinationResponse[]> {
    return this.present(await this.destinations.list());
  }

  @RequireRole('admin')
  @Audited('destination.create', 'destination')
  @Post()
  @ApiCreatedResponse({ type: DestinationResponse })
  @ApiBadRequestResponse({ description: 'A field is invalid; the message names each one and why.' })
  @ApiConflictResponse({ description: 'A destination with that name exists.' })
  async create(@Body() input: CreateDestinationDto): Promise<DestinationResponse> {
    return (await this.present([await this.destinations.create(input)]))[0];
  }

  @RequireRole('viewer')
  @Get(':id')
  @ApiOkResponse({ type: DestinationResponse })
  @ApiNotFoundResponse({ description: 'No destination with that id.' })
  async get(@Param('id', DestinationIdPipe) id: number): Promise<DestinationResponse> {
    return (await this.present([await this.destinations.get(id)]))[0];
  }

  @RequireRole('admin')
  @Audited('destination.update', 'destination')
  @Patch(':id')
  @ApiOkResponse({ type: DestinationResponse })
  @ApiBadRequestResponse({ description: 'A field is invalid; the message names each one and why.' })
  @ApiNotFoundResponse({ description: 'No destination with that id.' })
  @ApiConflictResponse({ description: 'Another destination has that name, or this is the built-in one.' })
  async update(@Param('id', DestinationIdPipe) id: number, @Body() changes: UpdateDestinationDto): Promise<DestinationResponse> {
    return (await this.present([await this.destinations.update(id, changes)]))[0];
  }

  @RequireRole('admin')
  @Audited('destination.delete', 'destination')
  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deleted. The copies stored there stay in the remote.' })
  @ApiNotFoundResponse({ description: 'No destination with that id.' })
  @ApiConflictResponse({ description: 'Apps store copies there, or this is the built-in one.' })
  async remove(@Param('id', DestinationIdPipe) id: number): Promise<void> {
    await this.destinations.remove(id);
  }

  @RequireRole('operator')
  @Audited('destination.check', 'destination')
  @Post(':id/check')
  @HttpCode(200)
  @ApiOkResponse({ type: DestinationCheckResponse, description: 'Lists the remote; ok is false with rclone\'s reason when it cannot.' })
  @ApiNotFoundResponse({ description: 'No destination with that id.' })
  check(@Param('id', DestinationIdPipe) id: number): Promise<DestinationCheckResponse> {
    return this.destinations.check(id);
  }
}
