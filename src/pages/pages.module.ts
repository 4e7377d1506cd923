import { Module } from '@nestjs/common';
import { AppsModule } from '../apps/apps.module';
import { BackupModule } from '../backup/backup.module';
import { PageCsrf } from './csrf';
import { AccessPagesController } from './access-pages.controller';
import { DestinationsPagesController } from './destinations-pages.controller';
import { LoginController } from './login.controller';
import { PageContext } from './page-context';
import { PagesController } from './pages.controller';
import { PagesService } from './pages.service';

@Module({
  imports: [AppsModule, BackupModule],
  controllers: [PagesController, LoginController, AccessPagesController, DestinationsPagesController],
  providers: [PagesService, PageContext, PageCsrf],
})
export class PagesModule {}
