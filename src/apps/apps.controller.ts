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
import { AppActivity } from './app-activity';
import type { AppEntity } from './app.entity';
import { AppsService } from './apps.service';
import { AppResponse } from './dto/app.response';
import { CreateAppDto } from './dto/create-app.dto';
import { UpdateAppDto } from './dto/update-app.dto';
import { AppIdPipe } from '../common/id.pipe';

@ApiTags('apps')
@ApiErrorResponses()
@Controller('api/apps')
export class AppsController {
  constructor(
    private readonly apps: AppsService,
    private readonly activity: AppActivity,
  ) {}

  /** Registry rows with what the scheduler and run history add (next run, last run, zone). */
  private async present(apps: AppEntity[]): Promise<AppResponse[]> {
    const activity = await this.activity.describe(apps);
    return apps.map((app) => AppResponse.from(app, activity.get(app.id)!));
  }

  private async presentOne(app: AppEntity): Promise<AppResponse> {
    return (await this.present([app]))[0];
  }

  @Get()
  @ApiOkResponse({ type: [AppResponse] })
  async list(): Promise<AppResponse[]> {
    return this.present(await this.apps.list());
  }

  @Post()
  @ApiCreatedResponse({ type: AppResponse })
  @ApiBadRequestResponse({ description: 'A field is invalid; the message names each one and why.' })
  @ApiConflictResponse({ description: 'An app with that name exists.' })
  async create(@Body() input: CreateAppDto): Promise<AppResponse> {
    return this.presentOne(await this.apps.create(input));
  }

  @Get(':id')
  @ApiOkResponse({ type: AppResponse })
  @ApiNotFoundResponse({ description: 'No app with that id.' })
  async get(@Param('id', AppIdPipe) id: number): Promise<AppResponse> {
    return this.presentOne(await this.apps.get(id));
  }

  @Patch(':id')
  @ApiOkResponse({ type: AppResponse })
  @ApiBadRequestResponse({ description: 'A field is invalid; the message names each one and why.' })
  @ApiNotFoundResponse({ description: 'No app with that id.' })
  @ApiConflictResponse({ description: 'Another app has that name.' })
  async update(@Param('id', AppIdPipe) id: number, @Body() changes: UpdateAppDto): Promise<AppResponse> {
    return this.presentOne(await this.apps.update(id, changes));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deleted. Its backups stay in the remote.' })
  @ApiNotFoundResponse({ description: 'No app with that id.' })
  async remove(@Param('id', AppIdPipe) id: number): Promise<void> {
    await this.apps.remove(id);
  }
}
