import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccessGuard } from './access.guard';
import { ApiKeyEntity } from './api-key.entity';
import { ApiKeysController } from './api-keys.controller';
import { ApiKeysService } from './api-keys.service';
import { AccessService } from './access.service';
import { SessionEntity } from './session.entity';
import { SessionsService } from './sessions.service';
import { SsoService } from './sso.service';
import { UserEntity } from '../users/user.entity';
import { UsersController } from '../users/users.controller';
import { UsersService } from '../users/users.service';

@Global()
@Module({
  imports: [TypeOrmModule.forFeature([SessionEntity, UserEntity, ApiKeyEntity])],
  controllers: [UsersController, ApiKeysController],
  providers: [AccessService, SessionsService, UsersService, ApiKeysService, SsoService, { provide: APP_GUARD, useClass: AccessGuard }],
  exports: [AccessService, SessionsService, UsersService, ApiKeysService, SsoService],
})
export class AuthModule {}
