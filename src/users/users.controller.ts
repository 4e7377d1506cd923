import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { ApiBadRequestResponse, ApiConflictResponse, ApiCreatedResponse, ApiNoContentResponse, ApiNotFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { RequireRole } from '../auth/roles';
import { ApiErrorResponses } from '../common/api-docs';
import { IdPipe } from '../common/id.pipe';
import { CreateUserDto, UpdateUserDto, UserResponse } from './dto/user.dto';
import { UserNotFoundError, UsersService } from './users.service';
import { Audited } from '../audit/audited.decorator';

const UserIdPipe = new IdPipe(UserNotFoundError);

@ApiTags('users')
@ApiErrorResponses()
@RequireRole('admin')
@Controller('api/users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get()
  @ApiOkResponse({ type: [UserResponse], description: 'Every user, by name. The env admin (ADMIN_USER) is not listed: it lives in the environment.' })
  async list(): Promise<UserResponse[]> {
    return (await this.users.list()).map(UserResponse.from);
  }

  @Audited('user.create', 'user')
  @Post()
  @ApiCreatedResponse({ type: UserResponse })
  @ApiBadRequestResponse({ description: 'A field is invalid; the message names each one and why.' })
  @ApiConflictResponse({ description: 'That user name is taken (or is ADMIN_USER).' })
  async create(@Body() input: CreateUserDto): Promise<UserResponse> {
    return UserResponse.from(await this.users.create(input));
  }

  @Get(':id')
  @ApiOkResponse({ type: UserResponse })
  @ApiNotFoundResponse({ description: 'No user with that id.' })
  async get(@Param('id', UserIdPipe) id: number): Promise<UserResponse> {
    return UserResponse.from(await this.users.get(id));
  }

  @Audited('user.update', 'user')
  @Patch(':id')
  @ApiOkResponse({ type: UserResponse })
  @ApiBadRequestResponse({ description: 'A field is invalid.' })
  @ApiNotFoundResponse({ description: 'No user with that id.' })
  async update(@Param('id', UserIdPipe) id: number, @Body() changes: UpdateUserDto): Promise<UserResponse> {
    return UserResponse.from(await this.users.update(id, changes));
  }

  @Audited('user.delete', 'user')
  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deleted; their sessions end at once.' })
  @ApiNotFoundResponse({ description: 'No user with that id.' })
  async remove(@Param('id', UserIdPipe) id: number): Promise<void> {
    await this.users.remove(id);
  }
}
