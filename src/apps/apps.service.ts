import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { QueryFailedError, Repository } from 'typeorm';
import { AppNameTakenError, AppNotFoundError } from '../common/errors';
import { AppConfig } from '../config/app-config';
import { AppEntity } from './app.entity';
import { CreateAppDto } from './dto/create-app.dto';
import { UpdateAppDto } from './dto/update-app.dto';
import { TokenCipher } from './token-cipher';

@Injectable()
export class AppsService {
  private readonly cipher: TokenCipher;

  constructor(
    @InjectRepository(AppEntity) private readonly apps: Repository<AppEntity>,
    config: AppConfig,
  ) {
    this.cipher = new TokenCipher(config.secretKey);
  }

  list(): Promise<AppEntity[]> {
    return this.apps.find({ order: { name: 'ASC' } });
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
      tokenEncrypted: this.cipher.encrypt(token),
      createdAt: now,
      updatedAt: now,
    });
    return this.saveUnique(app);
  }

  async update(id: number, changes: UpdateAppDto): Promise<AppEntity> {
    const app = await this.get(id);
    const { token, ...fields } = changes;
    Object.assign(app, fields, { updatedAt: new Date() });
    if (token !== undefined) app.tokenEncrypted = this.cipher.encrypt(token);
    return this.saveUnique(app);
  }

  async remove(id: number): Promise<AppEntity> {
    const app = await this.get(id);
    await this.apps.delete({ id });
    return app;
  }

  /** The plaintext token, for the one place that needs it: the request to the app. */
  tokenOf(app: AppEntity): string {
    return this.cipher.decrypt(app.tokenEncrypted);
  }

  private async saveUnique(app: AppEntity): Promise<AppEntity> {
    try {
      return await this.apps.save(app);
    } catch (error) {
      // The unique index is the judge, so two concurrent creates cannot both win.
      if (error instanceof QueryFailedError && /UNIQUE constraint failed: apps\.name/.test(error.message)) {
        throw new AppNameTakenError(app.name);
      }
      throw error;
    }
  }
}
