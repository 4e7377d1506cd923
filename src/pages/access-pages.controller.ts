import { Body, Controller, Get, Param, Post, Query, Render, Req, Res, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ApiKeyResponse, CreateApiKeyDto } from '../auth/api-keys.dto';
import { ApiKeyNotFoundError, ApiKeysService } from '../auth/api-keys.service';
import { RequireRole, ROLES } from '../auth/roles';
import { DomainError, InvalidFieldsError } from '../common/errors';
import { IdPipe } from '../common/id.pipe';
import { CreateUserDto, UpdateUserDto, UserResponse } from '../users/dto/user.dto';
import { UserNotFoundError, UsersService } from '../users/users.service';
import { CsrfGuard } from './csrf';
import { formInput } from './form-input';
import { PageContext } from './page-context';
import { AuditEntryResponse, AuditQuery } from '../audit/audit.dto';
import { AuditService } from '../audit/audit.service';
import { Audited, noteFailure } from '../audit/audited.decorator';

const UserIdPipe = new IdPipe(UserNotFoundError);
const KeyIdPipe = new IdPipe(ApiKeyNotFoundError);

/** The admins' pages for who may do what and who did what: users, API keys, the audit log. */
@ApiExcludeController()
@RequireRole('admin')
@Controller()
export class AccessPagesController {
  constructor(
    private readonly users: UsersService,
    private readonly keys: ApiKeysService,
    private readonly audit: AuditService,
    private readonly context: PageContext,
  ) {}

  @Get('users')
  @Render('access/users')
  async userList(@Req() request: Request, @Res({ passthrough: true }) response: Response) {
    return { ...this.context.of(request, response), users: (await this.users.list()).map(UserResponse.from), roles: ROLES };
  }

  @Audited('user.create', 'user')
  @Post('users')
  @UseGuards(CsrfGuard)
  async createUser(@Body() body: Record<string, unknown>, @Req() request: Request, @Res() response: Response) {
    const form = await formInput(CreateUserDto, { username: body.username, password: body.password, role: body.role });
    await this.act(request, response, form, async (input) => {
      const user = await this.users.create(input);
      this.context.flash(response, 'success', 'flash.userCreated', { name: user.username });
    });
    response.redirect(303, '/users');
  }

  /** Role and password change in one form; a blank password keeps the current one. */
  @Audited('user.update', 'user')
  @Post('users/:id')
  @UseGuards(CsrfGuard)
  async updateUser(@Param('id', UserIdPipe) id: number, @Body() body: Record<string, unknown>, @Req() request: Request, @Res() response: Response) {
    const form = await formInput(UpdateUserDto, { role: body.role, ...(body.password ? { password: body.password } : {}) });
    await this.act(request, response, form, async (input) => {
      const user = await this.users.update(id, input);
      this.context.flash(response, 'success', 'flash.userUpdated', { name: user.username });
    });
    response.redirect(303, '/users');
  }

  @Audited('user.delete', 'user')
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
  @Audited('key.create', 'key')
  @Post('keys')
  @UseGuards(CsrfGuard)
  async createKey(@Body() body: Record<string, unknown>, @Req() request: Request, @Res() response: Response) {
    const form = await formInput(CreateApiKeyDto, { name: body.name, role: body.role, ...(body.expiresAt ? { expiresAt: body.expiresAt } : {}) });
    let created: { name: string; key: string } | null = null;
    await this.act(request, response, form, async (input) => {
      const { entity, key } = await this.keys.create(input);
      created = { name: entity.name, key };
    });
    if (!created) return response.redirect(303, '/keys');
    response.set('Cache-Control', 'no-store').render('access/keys', { ...this.context.of(request, response), ...(await this.keysPage()), created });
  }

  @Audited('key.revoke', 'key')
  @Post('keys/:id/delete')
  @UseGuards(CsrfGuard)
  async deleteKey(@Param('id', KeyIdPipe) id: number, @Res() response: Response) {
    const key = await this.keys.remove(id);
    this.context.flash(response, 'success', 'flash.keyRevoked', { name: key.name });
    response.redirect(303, '/keys');
  }

  /** The audit log, newest first, filtered by actor and action like GET /api/audit (same query rules). */
  @Get('audit')
  @Render('access/audit')
  async auditLog(@Query() query: Record<string, unknown>, @Req() request: Request, @Res({ passthrough: true }) response: Response) {
    const filters = { actor: typeof query.actor === 'string' ? query.actor.trim() : '', action: typeof query.action === 'string' ? query.action.trim() : '' };
    const form = await formInput(AuditQuery, { ...(filters.actor && { actor: filters.actor }), ...(filters.action && { action: filters.action }), ...(query.before ? { before: query.before } : {}) });
    if (!form.ok) throw new InvalidFieldsError([{ field: 'query', reasons: [form.message] }]);
    const entries = (await this.audit.list(form.input)).map((entry) => ({ ...AuditEntryResponse.from(entry), detailsText: entry.details }));
    const older = entries.length === form.input.limit ? `/audit?${new URLSearchParams({ ...filters, before: String(entries.at(-1)!.id) })}` : null;
    return { ...this.context.of(request, response), entries, filters, older };
  }

  private async keysPage() {
    return { keys: (await this.keys.list()).map(ApiKeyResponse.from), roles: ROLES };
  }

  /** Runs `action` on valid input; a refusal (invalid field, name taken) becomes the message on the next page. */
  private async act<T>(request: Request, response: Response, form: { ok: true; input: T } | { ok: false; message: string }, action: (input: T) => Promise<void>) {
    const refuse = (message: string) => {
      noteFailure(request, message);
      this.context.flash(response, 'danger', 'flash.refused', { error: message });
    };
    if (!form.ok) return refuse(form.message);
    try {
      await action(form.input);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      refuse(error.message);
    }
  }
}
