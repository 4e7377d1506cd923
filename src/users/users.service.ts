import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { hashPassword, UNKNOWN_USER_HASH, verifyPassword } from '../auth/passwords';
import type { Role } from '../auth/roles';
import { SessionsService } from '../auth/sessions.service';
import { DomainError, ErrorCode } from '../common/errors';
import { AppConfig } from '../config/app-config';
import { UserEntity } from './user.entity';

export class UserNotFoundError extends DomainError {
  readonly code = ErrorCode.NotFound;
  constructor(id: number | string) {
    super(`no user with id ${id}`);
  }
}

export class UsernameTakenError extends DomainError {
  readonly code = ErrorCode.Conflict;
  constructor(username: string, isEnvAdmin: boolean) {
    super(isEnvAdmin ? `"${username}" is the env admin (ADMIN_USER): pick another name` : `a user named "${username}" already exists`);
  }
}

export const userSubject = (id: number) => `user:${id}`;

/** Users in the database; only admins reach this (the routes say so). */
@Injectable()
export class UsersService {
  constructor(
    @InjectRepository(UserEntity) private readonly users: Repository<UserEntity>,
    private readonly sessions: SessionsService,
    private readonly config: AppConfig,
  ) {}

  list(): Promise<UserEntity[]> {
    return this.users.find({ order: { username: 'ASC' } });
  }

  async get(id: number): Promise<UserEntity> {
    const user = await this.users.findOneBy({ id });
    if (!user) throw new UserNotFoundError(id);
    return user;
  }

  findById(id: number): Promise<UserEntity | null> {
    return this.users.findOneBy({ id });
  }

  async create(input: { username: string; password: string; role: Role }): Promise<UserEntity> {
    const isEnvAdmin = input.username === this.config.adminUser;
    if (isEnvAdmin || (await this.users.existsBy({ username: input.username }))) throw new UsernameTakenError(input.username, isEnvAdmin);
    const now = new Date();
    const user = this.users.create({ username: input.username, passwordHash: await hashPassword(input.password), role: input.role, createdAt: now, updatedAt: now });
    return this.users.save(user);
  }

  /** A new password ends the user's sessions (their credential no longer matches); a new role applies at their next request. */
  async update(id: number, changes: { password?: string; role?: Role }): Promise<UserEntity> {
    const user = await this.get(id);
    if (changes.password !== undefined) user.passwordHash = await hashPassword(changes.password);
    if (changes.role !== undefined) user.role = changes.role;
    user.updatedAt = new Date();
    return this.users.save(user);
  }

  async remove(id: number): Promise<UserEntity> {
    const user = await this.get(id);
    await this.users.delete({ id });
    await this.sessions.endAllOf(userSubject(id));
    return user;
  }

  /** The user when the password is theirs. An unknown name costs one scrypt too, so timing does not tell names apart. */
  async verify(username: string, password: string): Promise<UserEntity | null> {
    const user = await this.users.findOneBy({ username });
    const ok = await verifyPassword(password, user?.passwordHash ?? UNKNOWN_USER_HASH);
    return ok && user ? user : null;
  }
}
