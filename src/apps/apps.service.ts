import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, IsNull, MoreThan, Not, QueryFailedError, Repository } from 'typeorm';
import { AppNameTakenError, AppNotFoundError, FieldProblem, InvalidFieldsError } from '../common/errors';
import type { Cursor } from '../common/pagination';
import { AppConfig } from '../config/app-config';
import { DEFAULT_DESTINATION_ID } from '../destinations/destination.entity';
import { DestinationsService } from '../destinations/destinations.service';
import type { AppBrief } from './app-activity';
import { AppEntity, FOLLOW_VERIFY_SCHEDULE } from './app.entity';
import { cronProblem, DEFAULT_ZONE } from './app.validators';
import { CreateAppDto } from './dto/create-app.dto';
import { UpdateAppDto } from './dto/update-app.dto';
import { TokenCipher } from './token-cipher';
import { english } from '../common/i18n';
import { Dialect, violatesUnique } from '../database/dialect';
import { timeZoneOf } from './app-time-zone';

const NO_PASSPHRASE = english('invalid.passphraseRequired');

/** `remote`: made on another replica (cluster mode), relayed here so that this one's schedule follows it too. */
export type AppChange = { kind: 'saved'; app: AppEntity; remote?: boolean } | { kind: 'removed'; app: AppEntity; remote?: boolean };

@Injectable()
export class AppsService {
  private readonly cipher: TokenCipher;
  private readonly sql: Dialect;
  /** Who must follow registry changes at once (the scheduler), without the registry depending on them. */
  private readonly listeners: ((change: AppChange) => void)[] = [];

  constructor(
    @InjectRepository(AppEntity) private readonly apps: Repository<AppEntity>,
    private readonly config: AppConfig,
    private readonly destinations: DestinationsService,
  ) {
    this.cipher = new TokenCipher(config.secretKey);
    this.sql = new Dialect(apps.manager.connection);
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
    const like = this.sql.likeIgnoringCase;
    if (q) query.andWhere(`(app.name ${like} :pattern ESCAPE '\\' OR app.url ${like} :pattern ESCAPE '\\')`, { pattern: `%${q.replace(/[\\%_]/g, '\\$&')}%` });
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

  /** Enabled apps whose newest backup is verified on VERIFY_SCHEDULE (a few columns: it may be every app). */
  followingVerifySchedule(): Promise<Pick<AppEntity, 'id' | 'name' | 'zone'>[]> {
    return this.apps.find({ select: { id: true, name: true, zone: true }, where: { enabled: true, verifySchedule: FOLLOW_VERIFY_SCHEDULE }, order: { name: 'ASC' } });
  }

  /** Enabled apps with a verification schedule of their own (SQL's NOT IN also leaves out the NULLs: opted out). */
  withOwnVerifySchedule(): Promise<AppEntity[]> {
    return this.apps.find({ where: { enabled: true, verifySchedule: Not(In([FOLLOW_VERIFY_SCHEDULE])) } });
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
    const { token, encryptionPassphrase, drillToken, destinations: _list, ...fields } = input;
    const now = new Date();
    const app = this.apps.create({
      ...fields,
      driveFolderId: input.driveFolderId ?? input.destinations![0].folder,
      enabled: fields.enabled ?? true,
      timezone: fields.timezone ?? null,
      pingUrl: fields.pingUrl ?? null,
      zone: fields.zone ?? DEFAULT_ZONE,
      encryption: fields.encryption ?? 'none',
      keepDaily: fields.keepDaily ?? 0,
      keepWeekly: fields.keepWeekly ?? 0,
      keepMonthly: fields.keepMonthly ?? 0,
      keepYearly: fields.keepYearly ?? 0,
      verifySchedule: fields.verifySchedule === undefined ? FOLLOW_VERIFY_SCHEDULE : fields.verifySchedule,
      drillUrl: fields.drillUrl ?? null,
      drillSchedule: fields.drillSchedule ?? null,
      drillTokenEncrypted: drillToken ? this.cipher.encrypt(drillToken) : null,
      tokenEncrypted: this.cipher.encrypt(token),
      encryptionPassphraseEncrypted: encryptionPassphrase ? this.cipher.encrypt(encryptionPassphrase) : null,
      createdAt: now,
      updatedAt: now,
    });
    await this.refuseInvalid(app, input);
    return this.saveUnique(app, await this.destinationsFrom(input, null));
  }

  async update(id: number, changes: UpdateAppDto): Promise<AppEntity> {
    const app = await this.get(id);
    const { token, encryptionPassphrase, drillToken, destinations: _list, ...fields } = changes;
    Object.assign(app, fields, { updatedAt: new Date() });
    if (token !== undefined) app.tokenEncrypted = this.cipher.encrypt(token);
    if (drillToken !== undefined) app.drillTokenEncrypted = drillToken === null ? null : this.cipher.encrypt(drillToken);
    // Older backups keep the passphrase they were made with (recorded on their runs): replacing it here is safe.
    if (encryptionPassphrase !== undefined) {
      app.encryptionPassphraseEncrypted = encryptionPassphrase === null ? null : this.cipher.encrypt(encryptionPassphrase);
    }
    await this.refuseInvalid(app, changes);
    const links = await this.destinationsFrom(changes, app.id);
    if (links) app.driveFolderId = links[0].folder;
    return this.saveUnique(app, links);
  }

  /**
   * The app's destinations from a request, checked; null when it leaves them as they are. Without a list,
   * driveFolderId is the folder of the first (of `default` for a new app), and its problems are named after it.
   */
  private async destinationsFrom(input: UpdateAppDto, appId: number | null) {
    if (input.destinations !== undefined) {
      if (input.driveFolderId !== undefined && input.driveFolderId !== input.destinations[0].folder) {
        throw new InvalidFieldsError([{ field: 'driveFolderId', reasons: [english('invalid.driveFolderMismatch')] }]);
      }
      return this.destinations.resolve(input.destinations);
    }
    if (input.driveFolderId === undefined) return null;
    const current = appId === null ? [] : await this.destinations.inputsOf(appId);
    const list = current.length > 0 ? current : [{ destinationId: DEFAULT_DESTINATION_ID }];
    list[0] = { ...list[0], folder: input.driveFolderId };
    try {
      return await this.destinations.resolve(list as CreateAppDto['destinations'] & object);
    } catch (error) {
      if (!(error instanceof InvalidFieldsError)) throw error;
      throw new InvalidFieldsError(error.details.map((problem) =>
        problem.field === 'destinations[0].folder' ? { ...problem, field: 'driveFolderId' } : problem));
    }
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

  /** Where its restore drills go (see RestoreDrill): the drill instance and its own token; null without one. */
  drillEndpointOf(app: AppEntity): { url: string; token: string } | null {
    if (app.drillUrl === null || app.drillTokenEncrypted === null) return null;
    return { url: app.drillUrl, token: this.cipher.decrypt(app.drillTokenEncrypted) };
  }

  /** Enabled apps with a drill schedule (and so a drill instance). */
  withDrillSchedule(): Promise<AppEntity[]> {
    return this.apps.find({ where: { enabled: true, drillSchedule: Not(IsNull()) } });
  }

  /**
   * The passphrase a new backup of this app is encrypted with, sealed (for its run's record) and in clear
   * (for rclone); null when the app stores its backups unencrypted. Throws when encryption is on and there is
   * no passphrase: DEFAULT_ENCRYPTION_PASSPHRASE was removed after the app was saved.
   */
  encryptionFor(app: AppEntity): { sealed: string; passphrase: string } | null {
    if (app.encryption !== 'rclone-crypt') return null;
    if (app.encryptionPassphraseEncrypted !== null) {
      return { sealed: app.encryptionPassphraseEncrypted, passphrase: this.unseal(app.encryptionPassphraseEncrypted) };
    }
    const fallback = this.config.defaultEncryptionPassphrase;
    if (fallback === null) {
      throw new Error(english('failure.noPassphrase'));
    }
    return { sealed: this.cipher.encrypt(fallback), passphrase: fallback };
  }

  /** A passphrase sealed by encryptionFor (or stored with the app), in clear. */
  unseal(sealed: string): string {
    try {
      return this.cipher.decrypt(sealed);
    } catch {
      throw new Error(english('failure.passphraseUndecryptable'));
    }
  }

  /**
   * The rules the DTO cannot judge from the body alone: the schedules must fire in the app's own zone
   * (SCHEDULER_TIMEZONE when it has none), the folder must suit the remote's kind. Only what `changes`
   * touches is judged, so that an app already stored wrong can still be disabled or fixed field by field.
   */
  private async refuseInvalid(app: AppEntity, changes: UpdateAppDto): Promise<void> {
    const problems: FieldProblem[] = [];
    if (changes.schedule !== undefined || changes.timezone !== undefined || changes.enabled === true) {
      const problem = cronProblem(app.schedule, timeZoneOf(app, this.config));
      if (problem) problems.push({ field: 'schedule', reasons: [problem] });
    }
    const encryptionTouched = changes.encryption !== undefined || changes.encryptionPassphrase !== undefined;
    if (encryptionTouched && app.encryption === 'rclone-crypt' && app.encryptionPassphraseEncrypted === null && this.config.defaultEncryptionPassphrase === null) {
      problems.push({ field: 'encryptionPassphrase', reasons: [NO_PASSPHRASE] });
    }
    const ownVerifySchedule = app.verifySchedule !== null && app.verifySchedule !== FOLLOW_VERIFY_SCHEDULE;
    if (ownVerifySchedule && (changes.verifySchedule !== undefined || changes.timezone !== undefined || changes.enabled === true)) {
      const problem = cronProblem(app.verifySchedule!, timeZoneOf(app, this.config));
      if (problem) problems.push({ field: 'verifySchedule', reasons: [problem] });
    }
    const drillTouched = changes.drillUrl !== undefined || changes.drillToken !== undefined || changes.drillSchedule !== undefined;
    // A drill instance gets a token of its own: the production token never leaves for a scratch copy.
    if (drillTouched && app.drillUrl !== null && app.drillTokenEncrypted === null) {
      problems.push({ field: 'drillToken', reasons: [english('invalid.drillTokenRequired')] });
    }
    if (drillTouched && app.drillSchedule !== null && app.drillUrl === null) {
      problems.push({ field: 'drillSchedule', reasons: [english('invalid.drillScheduleNeedsUrl')] });
    }
    if (app.drillUrl !== null && app.drillUrl === app.url && (changes.drillUrl !== undefined || changes.url !== undefined)) {
      problems.push({ field: 'drillUrl', reasons: [english('invalid.drillUrlIsProduction')] });
    }
    if (app.drillSchedule !== null && (changes.drillSchedule !== undefined || changes.timezone !== undefined || changes.enabled === true)) {
      const problem = cronProblem(app.drillSchedule, timeZoneOf(app, this.config));
      if (problem) problems.push({ field: 'drillSchedule', reasons: [problem] });
    }
    if (problems.length > 0) throw new InvalidFieldsError(problems);
  }

  /** Another replica changed the app (see AppChangeRelay): read it again, and tell this replica's listeners. */
  async followRemote(appId: number): Promise<void> {
    const app = await this.apps.findOneBy({ id: appId });
    // A removed app's listeners need only its id.
    this.notify(app ? { kind: 'saved', app, remote: true } : { kind: 'removed', app: Object.assign(new AppEntity(), { id: appId }), remote: true });
  }

  /**
   * Cluster mode, once the relay hears again after being cut off: each app saved since `since` is followed as if it
   * had been announced. An app deleted meanwhile keeps this replica's jobs until its restart; their firings run
   * nothing (see firingApp).
   */
  async followSavedSince(since: Date): Promise<number> {
    const saved = await this.apps.findBy({ updatedAt: MoreThan(since) });
    for (const app of saved) this.notify({ kind: 'saved', app, remote: true });
    return saved.length;
  }

  private notify(change: AppChange): void {
    for (const listener of this.listeners) listener(change);
  }

  private async saveUnique(app: AppEntity, links: Awaited<ReturnType<AppsService['destinationsFrom']>>): Promise<AppEntity> {
    try {
      // The app and its destinations change together or not at all.
      const saved = await this.apps.manager.transaction(async (manager) => {
        const row = await manager.save(app);
        if (links) await this.destinations.replace(manager, row.id, links);
        return row;
      });
      this.notify({ kind: 'saved', app: saved });
      return saved;
    } catch (error) {
      // The unique index is the judge, so two concurrent creates cannot both win.
      if (error instanceof QueryFailedError && violatesUnique(error, 'apps.name', 'UQ_apps_name')) {
        throw new AppNameTakenError(app.name);
      }
      throw error;
    }
  }
}
