import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccessGuard } from './access.guard';
import { AccessService } from './access.service';
import { SessionEntity } from './session.entity';
import { SessionsService } from './sessions.service';

@Global()
@Module({
  imports: [TypeOrmModule.forFeature([SessionEntity])],
  providers: [AccessService, SessionsService, { provide: APP_GUARD, useClass: AccessGuard }],
  exports: [AccessService, SessionsService],
})
export class AuthModule {}
