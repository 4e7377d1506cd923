import { Body, Controller, Get, Param, Post, Render, Req, Res, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ApiKeyResponse, CreateApiKeyDto } from '../auth/api-keys.dto';
import { ApiKeyNotFoundError, ApiKeysService } from '../auth/api-keys.service';
import { RequireRole, ROLES } from '../auth/roles';
import { DomainError } from '../common/errors';
import { IdPipe } from '../common/id.pipe';
import { CreateUserDto, UpdateUserDto, UserResponse } from '../users/dto/user.dto';
import { UserNotFoundError, UsersService } from '../users/users.service';
import { CsrfGuard } from './csrf';
import { formInput } from './form-input';
import { PageContext } from './page-context';

const UserIdPipe = new IdPipe(UserNotFoundError);
const KeyIdPipe = new IdPipe(ApiKeyNotFoundError);

/** The admins' pages for who may do what: users, API keys (and the audit log). */
@ApiExcludeController()
@RequireRole('admin')
@Controller()
export class AccessPagesController {
  constructor(
    private readonly users: UsersService,
    private readonly keys: ApiKeysService,
    private readonly context: PageContext,
  ) {}

  @Get('users')
  @Render('access/users')
  async userList(@Req() request: Request, @Res({ passthrough: true }) response: Response) {
    return { ...this.context.of(request, response), users: (await this.users.list()).map(UserResponse.from), roles: ROLES };
  }

  @Post('users')
  @UseGuards(CsrfGuard)
  async createUser(@Body() body: Record<string, unknown>, @Res() response: Response) {
    const form = await formInput(CreateUserDto, { username: body.username, password: body.password, role: body.role });
    await this.act(response, form, async (input) => {
      const user = await this.users.create(input);
      this.context.flash(response, 'success', 'flash.userCreated', { name: user.username });
    });
    response.redirect(303, '/users');
  }

  /** Role and password change in one form; a blank password keeps the current one. */
  @Post('users/:id')
  @UseGuards(CsrfGuard)
  async updateUser(@Param('id', UserIdPipe) id: number, @Body() body: Record<string, unknown>, @Res() response: Response) {
    const form = await formInput(UpdateUserDto, { role: body.role, ...(body.password ? { password: body.password } : {}) });
    await this.act(response, form, async (input) => {
      const user = await this.users.update(id, input);
      this.context.flash(response, 'success', 'flash.userUpdated', { name: user.username });
    });
    response.redirect(303, '/users');
  }

  @Post('users/:id/delete')
  @UseGuards(CsrfGuard)
  async deleteUser(@Param('id', UserIdPipe) id: number, @Res() response: Response) {
    const user = await this.users.remove(id);
    this.context.flash(response, 'success', 'flash.userDeleted', { name: user.username });
    response.redirect(303, '/users');
  }

  @Get('keys')
  @Render('access/keys')
  async keyList(@Req() request: Request, @Res({ passthrough: true }) response: Response) {
    return { ...this.context.of(request, response), ...(await this.keysPage()) };
  }

  /** The new key is shown in this answer only (never in a cookie or a redirect); afterwards only its prefix. */
  @Post('keys')
  @UseGuards(CsrfGuard)
  async createKey(@Body() body: Record<string, unknown>, @Req() request: Request, @Res() response: Response) {
    const form = await formInput(CreateApiKeyDto, { name: body.name, role: body.role, ...(body.expiresAt ? { expiresAt: body.expiresAt } : {}) });
    let created: { name: string; key: string } | null = null;
    await this.act(response, form, async (input) => {
      const { entity, key } = await this.keys.create(input);
      created = { name: entity.name, key };
    });
    if (!created) return response.redirect(303, '/keys');
    response.set('Cache-Control', 'no-store').render('access/keys', { ...this.context.of(request, response), ...(await this.keysPage()), created });
  }

  @Post('keys/:id/delete')
  @UseGuards(CsrfGuard)
  async deleteKey(@Param('id', KeyIdPipe) id: number, @Res() response: Response) {
    const key = await this.keys.remove(id);
    this.context.flash(response, 'success', 'flash.keyRevoked', { name: key.name });
    response.redirect(303, '/keys');
  }

  private async keysPage() {
    return { keys: (await this.keys.list()).map(ApiKeyResponse.from), roles: ROLES };
  }

  /** Runs `action` on valid input; a refusal (invalid field, name taken) becomes the message on the next page. */
  private async act<T>(response: Response, form: { ok: true; input: T } | { ok: false; message: string }, action: (input: T) => Promise<void>) {
    if (!form.ok) return this.context.flash(response, 'danger', 'flash.refused', { error: form.message });
    try {
      await action(form.input);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      this.context.flash(response, 'danger', 'flash.refused', { error: error.message });
    }
  }
}
