import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, MoreThan, QueryFailedError, Repository } from 'typeorm';
import { AppNameTakenError, AppNotFoundError, FieldProblem, InvalidFieldsError } from '../common/errors';
import type { Cursor } from '../common/pagination';
import { AppConfig } from '../config/app-config';
import { BackupLocations } from '../storage/backup-locations.service';
import type { AppBrief } from './app-activity';
import { AppEntity } from './app.entity';
import { cronProblem } from './app.validators';
import { CreateAppDto } from './dto/create-app.dto';
import { UpdateAppDto } from './dto/update-app.dto';
import { TokenCipher } from './token-cipher';

export type AppChange = { kind: 'saved'; app: AppEntity } | { kind: 'removed'; app: AppEntity };

@Injectable()
export class AppsService {
  private readonly cipher: TokenCipher;
  /** Who must follow registry changes at once (the scheduler), without the registry depending on them. */
  private readonly listeners: ((change: AppChange) => void)[] = [];

  constructor(
    @InjectRepository(AppEntity) private readonly apps: Repository<AppEntity>,
    private readonly config: AppConfig,
    private readonly locations: BackupLocations,
  ) {
    this.cipher = new TokenCipher(config.secretKey);
  }

  onChange(listener: (change: AppChange) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Up to `take` apps in name order after the cursor's name (before it: in reverse order), through the
   * unique index on name. `q` keeps those whose name or URL contains it, ignoring case.
   */
  slice({ cursor, q, take }: { cursor: Cursor | null; q?: string; take: number }): Promise<AppEntity[]> {
    const backwards = cursor?.direction === 'before';
    const query = this.apps.createQueryBuilder('app').orderBy('app.name', backwards ? 'DESC' : 'ASC').limit(take);
    if (cursor) query.andWhere(`app.name ${backwards ? '<' : '>'} :key`, { key: cursor.key });
    if (q) query.andWhere(`(app.name LIKE :pattern ESCAPE '\\' OR app.url LIKE :pattern ESCAPE '\\')`, { pattern: `%${q.replace(/[\\%_]/g, '\\$&')}%` });
    return query.getMany();
  }

  /** Up to `take` apps after the name `after` in name order, with only what a status needs: a pass over every app reads a page at a time. */
  briefs(after: string | null, take: number): Promise<AppBrief[]> {
    return this.apps.find({
      select: { id: true, name: true, enabled: true, createdAt: true },
      where: after === null ? {} : { name: MoreThan(after) },
      order: { name: 'ASC' },
      take,
    });
  }

  findByIds(ids: number[]): Promise<AppEntity[]> {
    return this.apps.findBy({ id: In(ids) });
  }

  async get(id: number): Promise<AppEntity> {
    const app = await this.apps.findOneBy({ id });
    if (!app) throw new AppNotFoundError(id);
    return app;
  }

  async create(input: CreateAppDto): Promise<AppEntity> {
    const { token, ...fields } = input;
    const now = new Date();
    const app = this.apps.create({
      ...fields,
      enabled: fields.enabled ?? true,
      timezone: fields.timezone ?? null,
      pingUrl: fields.pingUrl ?? null,
      tokenEncrypted: this.cipher.encrypt(token),
      createdAt: now,
      updatedAt: now,
    });
    await this.refuseInvalid(app, input);
    return this.saveUnique(app);
  }

  async update(id: number, changes: UpdateAppDto): Promise<AppEntity> {
    const app = await this.get(id);
    const { token, ...fields } = changes;
    Object.assign(app, fields, { updatedAt: new Date() });
    if (token !== undefined) app.tokenEncrypted = this.cipher.encrypt(token);
    await this.refuseInvalid(app, changes);
    return this.saveUnique(app);
  }

  async remove(id: number): Promise<AppEntity> {
    const app = await this.get(id);
    await this.apps.delete({ id });
    this.notify({ kind: 'removed', app });
    return app;
  }

  /** The plaintext token, for the one place that needs it: the request to the app. */
  tokenOf(app: AppEntity): string {
    return this.cipher.decrypt(app.tokenEncrypted);
  }

  /**
   * The rules the DTO cannot judge from the body alone: the schedule must fire in the app's own zone
   * (SCHEDULER_TIMEZONE when it has none), the folder must suit the remote's kind. Only what `changes`
   * touches is judged, so that an app already stored wrong can still be disabled or fixed field by field.
   */
  private async refuseInvalid(app: AppEntity, changes: UpdateAppDto): Promise<void> {
    const problems: FieldProblem[] = [];
    if (changes.schedule !== undefined || changes.timezone !== undefined || changes.enabled === true) {
      const problem = cronProblem(app.schedule, app.timezone ?? this.config.scheduler.timezone);
      if (problem) problems.push({ field: 'schedule', reasons: [problem] });
    }
    if (changes.driveFolderId !== undefined) {
      const problem = await this.locations.folderProblem(app.driveFolderId);
      if (problem) problems.push({ field: 'driveFolderId', reasons: [problem] });
    }
    if (problems.length > 0) throw new InvalidFieldsError(problems);
  }

  private notify(change: AppChange): void {
    for (const listener of this.listeners) listener(change);
  }

  private async saveUnique(app: AppEntity): Promise<AppEntity> {
    try {
      const saved = await this.apps.save(app);
      this.notify({ kind: 'saved', app: saved });
      return saved;
    } catch (error) {
      // The unique index is the judge, so two concurrent creates cannot both win.
      if (error instanceof QueryFailedError && /UNIQUE constraint failed: apps\.name/.test(error.message)) {
        throw new AppNameTakenError(app.name);
      }
      throw error;
    }
  }
}
