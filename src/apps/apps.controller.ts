import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
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
import { announcePages, decodeCursor } from '../common/pagination';
import { LINK_HEADER } from '../common/pagination.dto';
import { AppActivity } from './app-activity';
import type { AppEntity } from './app.entity';
import { AppListing } from './app-listing.service';
import { AppsService } from './apps.service';
import { DestinationsService } from '../destinations/destinations.service';
import { AppResponse } from './dto/app.response';
import { CreateAppDto } from './dto/create-app.dto';
import { ListAppsQuery } from './dto/list-apps.query';
import { UpdateAppDto } from './dto/update-app.dto';
import { AppIdPipe } from '../common/id.pipe';
import { RequireRole } from '../auth/roles';
import { Audited } from '../audit/audited.decorator';

@ApiTags('apps')
@ApiErrorResponses()
@Controller('api/apps')
export class AppsController {
  constructor(
    private readonly apps: AppsService,
    private readonly activity: AppActivity,
    private readonly listing: AppListing,
    private readonly destinations: DestinationsService,
  ) {}

  /** Registry rows with what the scheduler and run history add (next run, last run, zone). */
  private async present(apps: AppEntity[]): Promise<AppResponse[]> {
    const ids = apps.map((app) => app.id);
    const [activity, destinations] = await Promise.all([this.activity.describe(apps), this.destinations.describe(ids)]);
    return apps.map((app) => AppResponse.from(app, activity.get(app.id)!, destinations.get(app.id)!));
  }

  private async presentOne(app: AppEntity): Promise<AppResponse> {
    return (await this.present([app]))[0];
  }

  @RequireRole('viewer')
  @Get()
  @ApiOkResponse({ type: [AppResponse], description: 'A page of apps in name order.', headers: LINK_HEADER })
  async list(@Query() query: ListAppsQuery, @Req() request: Request, @Res({ passthrough: true }) response: Response): Promise<AppResponse[]> {
    const page = await this.listing.page({ ...query, cursor: query.cursor === undefined ? null : decodeCursor(query.cursor) });
    const rows = announcePages(request, response, page);
    const destinations = await this.destinations.describe(rows.map(({ app }) => app.id));
    return rows.map(({ app, activity }) => AppResponse.from(app, activity, destinations.get(app.id)!));
  }

  @RequireRole('admin')
  @Audited('app.create', 'app')
  @Post()
  @ApiCreatedResponse({ type: AppResponse })
  @ApiBadRequestResponse({ description: 'A field is invalid; the message names each one and why.' })
  @ApiConflictResponse({ description: 'An app with that name exists.' })
  async create(@Body() input: CreateAppDto): Promise<AppResponse> {
    return this.presentOne(await this.apps.create(input));
  }

  @RequireRole('viewer')
  @Get(':id')
  @ApiOkResponse({ type: AppResponse })
  @ApiNotFoundResponse({ description: 'No app with that id.' })
  async get(@Param('id', AppIdPipe) id: number): Promise<AppResponse> {
    return this.presentOne(await this.apps.get(id));
  }

  @RequireRole('admin')
  @Audited('app.update', 'app')
  @Patch(':id')
  @ApiOkResponse({ type: AppResponse })
  @ApiBadRequestResponse({ description: 'A field is invalid; the message names each one and why.' })
  @ApiNotFoundResponse({ description: 'No app with that id.' })
  @ApiConflictResponse({ description: 'Another app has that name.' })
  async update(@Param('id', AppIdPipe) id: number, @Body() changes: UpdateAppDto): Promise<AppResponse> {
    return this.presentOne(await this.apps.update(id, changes));
  }

  @RequireRole('admin')
  @Audited('app.delete', 'app')
  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deleted. Its backups stay in the remote.' })
  @ApiNotFoundResponse({ description: 'No app with that id.' })
  async remove(@Param('id', AppIdPipe) id: number): Promise<void> {
    await this.apps.remove(id);
  }
}
