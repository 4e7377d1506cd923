import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Repository } from 'typeorm';
import { DomainError, ErrorCode } from '../common/errors';
import { ApiKeyEntity } from './api-key.entity';
import type { Role } from './roles';

export class ApiKeyNotFoundError extends DomainError {
  readonly code = ErrorCode.NotFound;
  constructor(id: number | string) {
    super(`no API key with id ${id}`);
  }
}

export class ApiKeyNameTakenError extends DomainError {
  readonly code = ErrorCode.Conflict;
  constructor(name: string) {
    super(`an API key named "${name}" already exists`);
  }
}

/** `ao_` + 8 hex characters (the visible prefix) + `_` + 256 random bits. */
const KEY_FORMAT = /^(ao_[0-9a-f]{8})_[A-Za-z0-9_-]{43}$/;
/** lastUsedAt is written at most this often, so a busy integration does not write on every call. */
const TOUCH_EVERY_MS = 60_000;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

@Injectable()
export class ApiKeysService {
  constructor(@InjectRepository(ApiKeyEntity) private readonly keys: Repository<ApiKeyEntity>) {}

  list(): Promise<ApiKeyEntity[]> {
    return this.keys.find({ order: { createdAt: 'DESC', id: 'DESC' } });
  }

  /** The new key and the one time its secret exists outside the caller's hands. */
  async create(input: { name: string; role: Role; expiresAt?: Date }): Promise<{ entity: ApiKeyEntity; key: string }> {
    if (await this.keys.existsBy({ name: input.name })) throw new ApiKeyNameTakenError(input.name);
    const prefix = `ao_${randomBytes(4).toString('hex')}`;
    const key = `${prefix}_${randomBytes(32).toString('base64url')}`;
    const entity = await this.keys.save(
      this.keys.create({ name: input.name, role: input.role, prefix, hash: sha256(key), createdAt: new Date(), lastUsedAt: null, expiresAt: input.expiresAt ?? null }),
    );
    return { entity, key };
  }

  /** Revokes: the row goes, so the very next request with the key is refused. */
  async remove(id: number): Promise<ApiKeyEntity> {
    const key = await this.keys.findOneBy({ id });
    if (!key) throw new ApiKeyNotFoundError(id);
    await this.keys.delete({ id });
    return key;
  }

  /** The key's record when `presented` is a live key; otherwise why not (unknown or revoked, expired). */
  async verify(presented: string): Promise<ApiKeyEntity | 'unknown' | 'expired'> {
    const prefix = KEY_FORMAT.exec(presented)?.[1];
    const key = prefix ? await this.keys.findOneBy({ prefix }) : null;
    if (!key || !timingSafeEqual(Buffer.from(sha256(presented)), Buffer.from(key.hash))) return 'unknown';
    const now = Date.now();
    if (key.expiresAt && key.expiresAt.getTime() <= now) return 'expired';
    if (!key.lastUsedAt || now - key.lastUsedAt.getTime() > TOUCH_EVERY_MS) {
      key.lastUsedAt = new Date(now);
      await this.keys.update({ id: key.id }, { lastUsedAt: key.lastUsedAt });
    }
    return key;
  }
}
