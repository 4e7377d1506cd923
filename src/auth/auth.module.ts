import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { BasicAuthGuard } from './basic-auth.guard';
import { BasicAuthService } from './basic-auth.service';

@Global()
@Module({
  providers: [BasicAuthService, { provide: APP_GUARD, useClass: BasicAuthGuard }],
  exports: [BasicAuthService],
})
export class AuthModule {}
