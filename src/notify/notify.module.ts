import { Module } from '@nestjs/common';
import { AppsModule } from '../apps/apps.module';
import { DeadManPinger } from './dead-man.pinger';
import { WebhookNotifier } from './webhook.notifier';

@Module({ imports: [AppsModule], providers: [WebhookNotifier, DeadManPinger] })
export class NotifyModule {}
