import { Body, Controller, Delete, Get, HttpCode, Param, ParseIntPipe, Patch, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import { ApiErrorResponses } from '../common/api-docs';
import { AppsService } from './apps.service';
import { AppResponse } from './dto/app.response';
import { CreateAppDto } from './dto/create-app.dto';
import { UpdateAppDto } from './dto/update-app.dto';
import { AppIdPipe } from '../common/id.pipe';

@ApiTags('apps')
@ApiErrorResponses()
@Controller('api/apps')
export class AppsController {
  constructor(private readonly apps: AppsService) {}

  @Get()
  @ApiOkResponse({ type: [AppResponse] })
  async list(): Promise<AppResponse[]> {
    return (await this.apps.list()).map(AppResponse.from);
  }

  @Post()
  @ApiCreatedResponse({ type: AppResponse })
  @ApiBadRequestResponse({ description: 'A field is invalid; the message names each one and why.' })
  @ApiConflictResponse({ description: 'An app with that name exists.' })
  async create(@Body() input: CreateAppDto): Promise<AppResponse> {
    return AppResponse.from(await this.apps.create(input));
  }

  @Get(':id')
  @ApiOkResponse({ type: AppResponse })
  @ApiNotFoundResponse({ description: 'No app with that id.' })
  async get(@Param('id', AppIdPipe) id: number): Promise<AppResponse> {
    return AppResponse.from(await this.apps.get(id));
  }

  @Patch(':id')
  @ApiOkResponse({ type: AppResponse })
  @ApiBadRequestResponse({ description: 'A field is invalid; the message names each one and why.' })
  @ApiNotFoundResponse({ description: 'No app with that id.' })
  @ApiConflictResponse({ description: 'Another app has that name.' })
  async update(@Param('id', AppIdPipe) id: number, @Body() changes: UpdateAppDto): Promise<AppResponse> {
    return AppResponse.from(await this.apps.update(id, changes));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deleted. Its backups stay in the remote.' })
  @ApiNotFoundResponse({ description: 'No app with that id.' })
  async remove(@Param('id', AppIdPipe) id: number): Promise<void> {
    await this.apps.remove(id);
  }
}
