import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccessGuard } from './access.guard';
import { AccessService } from './access.service';
import { SessionEntity } from './session.entity';
import { SessionsService } from './sessions.service';
import { UserEntity } from '../users/user.entity';
import { UsersController } from '../users/users.controller';
import { UsersService } from '../users/users.service';

@Global()
@Module({
  imports: [TypeOrmModule.forFeature([SessionEntity, UserEntity])],
  controllers: [UsersController],
  providers: [AccessService, SessionsService, UsersService, { provide: APP_GUARD, useClass: AccessGuard }],
  exports: [AccessService, SessionsService, UsersService],
})
export class AuthModule {}
