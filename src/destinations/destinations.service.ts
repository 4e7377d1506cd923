import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, In, Repository } from 'typeorm';
import type { AppEntity } from '../apps/app.entity';
import { TokenCipher } from '../apps/token-cipher';
import { DestinationConflictError, DestinationNotFoundError, FieldProblem, InvalidFieldsError, InvalidBackupError } from '../common/errors';
import { english } from '../common/i18n';
import { violatesUnique } from '../database/dialect';
import { AppConfig } from '../config/app-config';
import { BackupLocations } from '../storage/backup-locations.service';
import { RcloneAdapter } from '../storage/rclone.adapter';
import { RunDestinationEntity } from '../backup/run-destination.entity';
import { AppDestinationEntity, DEFAULT_DESTINATION_ID, DEFAULT_DESTINATION_NAME, DestinationEntity, RETENTION_FIELDS } from './destination.entity';
import type { AppDestinationInput, AppDestinationResponse } from './dto/app-destination.dto';
import { CreateDestinationDto, DestinationCheckResponse, UpdateDestinationDto } from './dto/destination.dto';

/** One of an app's destinations, resolved for a run or a read: where its folder is and which rules apply there. */
export interface AppTarget {
  destinationId: number;
  /** The destination's name. */
  name: string;
  position: number;
  /** The destination's remote (RCLONE_REMOTE for the built-in one). */
  remote: string;
  /** The app's folder there, as stored (a sub-folder path or a Drive folder id). */
  folder: string;
  destination: DestinationEntity;
  /** The app's rules with this destination's overrides. */
  retention: Pick<AppEntity, (typeof RETENTION_FIELDS)[number]>;
}

/**
 * The named rclone targets apps store copies in (3-2-1), and each app's list of them. Every part of the
 * service that needs "where does this app's backup go / come from" asks here: the run (all targets), reads
 * (one target, the first by default), the pages and the API.
 */
@Injectable()
export class DestinationsService {
  private readonly cipher: TokenCipher;

  constructor(
    @InjectRepository(DestinationEntity) private readonly destinations: Repository<DestinationEntity>,
    @InjectRepository(AppDestinationEntity) private readonly links: Repository<AppDestinationEntity>,
    private readonly config: AppConfig,
    private readonly locations: BackupLocations,
    private readonly rclone: RcloneAdapter,
  ) {
    this.cipher = new TokenCipher(config.secretKey);
  }

  /** The remote a destination stands for: its own, or RCLONE_REMOTE for the built-in one. */
  remoteOf(destination: DestinationEntity): string {
    return destination.remote ?? this.config.rclone.remote;
  }

  list(): Promise<DestinationEntity[]> {
    return this.destinations.find({ order: { id: 'ASC' } });
  }

  async get(id: number): Promise<DestinationEntity> {
    const destination = await this.destinations.findOneBy({ id });
    if (!destination) throw new DestinationNotFoundError(id);
    return destination;
  }

  /** How many apps use each destination. */
  async usage(): Promise<Map<number, number>> {
    const rows: { destinationId: number; apps: number }[] = await this.links
      .createQueryBuilder('link').select('link.destinationId', 'destinationId').addSelect('COUNT(*)', 'apps').groupBy('link.destinationId').getRawMany();
    return new Map(rows.map((row) => [Number(row.destinationId), Number(row.apps)]));
  }

  async create(input: CreateDestinationDto): Promise<DestinationEntity> {
    const now = new Date();
    const destination = this.destinations.create({
      name: input.name,
      remote: input.remote,
      encryption: input.encryption ?? 'none',
      encryptionPassphraseEncrypted: input.encryptionPassphrase ? this.cipher.encrypt(input.encryptionPassphrase) : null,
      createdAt: now,
      updatedAt: now,
    });
    this.refusePassphraseless(destination);
    return this.saveUnique(destination);
  }

  async update(id: number, changes: UpdateDestinationDto): Promise<DestinationEntity> {
    const destination = await this.get(id);
    if (destination.remote === null) throw new DestinationConflictError(english('failure.destinationBuiltIn'));
    const { encryptionPassphrase, ...fields } = changes;
    Object.assign(destination, fields, { updatedAt: new Date() });
    if (encryptionPassphrase !== undefined) {
      destination.encryptionPassphraseEncrypted = encryptionPassphrase === null ? null : this.cipher.encrypt(encryptionPassphrase);
    }
    this.refusePassphraseless(destination);
    return this.saveUnique(destination);
  }

  /** Deleting one that apps use is refused: their next backups would silently lose a copy. */
  async remove(id: number): Promise<DestinationEntity> {
    const destination = await this.get(id);
    if (destination.remote === null) throw new DestinationConflictError(english('failure.destinationBuiltIn'));
    const users = await this.links.countBy({ destinationId: id });
    if (users > 0) throw new DestinationConflictError(english('failure.destinationInUse', { name: destination.name, apps: users }));
    await this.destinations.manager.transaction(async (manager) => {
      // The copies recorded there keep the destination's name; the id may be reused by a new one.
      await manager.update(RunDestinationEntity, { destinationId: id }, { destinationId: null });
      await manager.delete(DestinationEntity, { id });
    });
    return destination;
  }

  /** Lists the remote's top: proves rclone reaches it with what it was given. */
  async check(id: number): Promise<DestinationCheckResponse> {
    const destination = await this.get(id);
    const remote = this.remoteOf(destination);
    let type: string | null = null;
    try {
      type = await this.locations.typeOf(remote);
      await this.rclone.list(remote);
      return { ok: true, type, error: null };
    } catch (error) {
      return { ok: false, type, error: (error as Error).message };
    }
  }

  /** Each app's destinations in order, for the API and the pages. */
  async describe(appIds: number[]): Promise<Map<number, AppDestinationResponse[]>> {
    const result = new Map<number, AppDestinationResponse[]>(appIds.map((id) => [id, []]));
    if (appIds.length === 0) return result;
    const links = await this.links.find({ where: { appId: In(appIds) }, order: { appId: 'ASC', position: 'ASC' } });
    const names = new Map((await this.destinations.find({ select: { id: true, name: true } })).map((d) => [d.id, d.name]));
    for (const { id: _id, appId, position: _position, ...link } of links) {
      result.get(appId)?.push({ ...link, destination: names.get(link.destinationId) ?? '?' });
    }
    return result;
  }

  /** Every destination of the app, the first first, with where its folder is and the rules there. */
  async targetsOf(app: AppEntity): Promise<AppTarget[]> {
    const links = await this.links.find({ where: { appId: app.id }, order: { position: 'ASC' } });
    const destinations = new Map((await this.destinations.findBy({ id: In(links.map((link) => link.destinationId)) })).map((d) => [d.id, d]));
    // An app saved before its destinations existed (or by hand) still has its folder in `default`.
    if (links.length === 0) {
      const builtIn = await this.get(DEFAULT_DESTINATION_ID);
      return [this.target(app, builtIn, { position: 0, folder: app.driveFolderId } as AppDestinationEntity)];
    }
    return links.map((link) => this.target(app, destinations.get(link.destinationId)!, link));
  }

  /**
   * The app's destination a read names (by id or name), or its first; InvalidBackupError when the app does
   * not store copies there.
   */
  async targetOf(app: AppEntity, ref?: string | number | null): Promise<AppTarget> {
    const targets = await this.targetsOf(app);
    if (ref === undefined || ref === null || ref === '') return targets[0];
    const found = targets.find((target) => String(target.destinationId) === String(ref) || target.name === String(ref));
    if (!found) throw new InvalidBackupError(english('failure.notADestinationOf', { destination: String(ref), name: app.name }));
    return found;
  }

  /** The passphrase a copy stored in this destination is encrypted with when the app does not encrypt itself; null: plain. */
  encryptionFor(destination: DestinationEntity): { sealed: string; passphrase: string } | null {
    if (destination.encryption !== 'rclone-crypt') return null;
    if (destination.encryptionPassphraseEncrypted !== null) {
      return { sealed: destination.encryptionPassphraseEncrypted, passphrase: this.cipher.decrypt(destination.encryptionPassphraseEncrypted) };
    }
    const fallback = this.config.defaultEncryptionPassphrase;
    if (fallback === null) throw new Error(english('failure.noPassphrase'));
    return { sealed: this.cipher.encrypt(fallback), passphrase: fallback };
  }

  /**
   * The app's destinations as a request gives them (or, without a list, `default` with driveFolderId), checked:
   * each destination exists and appears once, each folder suits its remote. `field` prefixes the fields named
   * in a 400.
   */
  async resolve(inputs: AppDestinationInput[]): Promise<Omit<AppDestinationEntity, 'id' | 'appId'>[]> {
    const problems: FieldProblem[] = [];
    const all = await this.destinations.find();
    const resolved: Omit<AppDestinationEntity, 'id' | 'appId'>[] = [];
    for (const [index, input] of inputs.entries()) {
      const destination = all.find((d) => String(d.id) === String(input.destinationId) || d.name === String(input.destinationId));
      if (!destination) {
        problems.push({ field: `destinations[${index}].destinationId`, reasons: [english('failure.destinationNotFound', { id: input.destinationId })] });
        continue;
      }
      if (resolved.some((r) => r.destinationId === destination.id)) {
        problems.push({ field: `destinations[${index}].destinationId`, reasons: [english('invalid.destinationTwice', { name: destination.name })] });
        continue;
      }
      const problem = await this.locations.folderProblem(input.folder, this.remoteOf(destination));
      if (problem) problems.push({ field: `destinations[${index}].folder`, reasons: [problem] });
      resolved.push({
        position: index,
        destinationId: destination.id,
        folder: input.folder,
        ...Object.fromEntries(RETENTION_FIELDS.map((field) => [field, input[field] ?? null])),
      } as Omit<AppDestinationEntity, 'id' | 'appId'>);
    }
    if (problems.length > 0) throw new InvalidFieldsError(problems);
    return resolved;
  }

  /** Replaces the app's list (inside the transaction that saves the app). */
  async replace(manager: EntityManager, appId: number, links: Omit<AppDestinationEntity, 'id' | 'appId'>[]): Promise<void> {
    await manager.delete(AppDestinationEntity, { appId });
    await manager.insert(AppDestinationEntity, links.map((link) => ({ ...link, appId })));
  }

  /** The current list of the app as inputs, e.g. to change only the first folder. */
  async inputsOf(appId: number): Promise<AppDestinationInput[]> {
    const links = await this.links.find({ where: { appId }, order: { position: 'ASC' } });
    return links.map(({ destinationId, folder, ...rules }) => ({
      destinationId, folder, ...Object.fromEntries(RETENTION_FIELDS.map((field) => [field, rules[field]])),
    }));
  }

  private target(app: AppEntity, destination: DestinationEntity, link: AppDestinationEntity): AppTarget {
    const retention = Object.fromEntries(RETENTION_FIELDS.map((field) => [field, link[field] ?? app[field]])) as AppTarget['retention'];
    return { destinationId: destination.id, name: destination.name, position: link.position, remote: this.remoteOf(destination), folder: link.folder, destination, retention };
  }

  private refusePassphraseless(destination: DestinationEntity): void {
    if (destination.encryption === 'rclone-crypt' && destination.encryptionPassphraseEncrypted === null && this.config.defaultEncryptionPassphrase === null) {
      throw new InvalidFieldsError([{ field: 'encryptionPassphrase', reasons: [english('invalid.passphraseRequired')] }]);
    }
  }

  private async saveUnique(destination: DestinationEntity): Promise<DestinationEntity> {
    if (destination.name === DEFAULT_DESTINATION_NAME && destination.id !== DEFAULT_DESTINATION_ID) {
      throw new DestinationConflictError(english('failure.destinationNameTaken', { name: destination.name }));
    }
    try {
      return await this.destinations.save(destination);
    } catch (error) {
      if (violatesUnique(error, 'destinations.name', 'UQ_destinations_name')) {
        throw new DestinationConflictError(english('failure.destinationNameTaken', { name: destination.name }));
      }
      throw error;
    }
  }
}
