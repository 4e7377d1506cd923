import { ApiProperty } from '@nestjs/swagger';
import type { AppEntity } from '../app.entity';

/** An app as the API shows it: everything but the token, which is only ever reported as present. */
export class AppResponse {
  @ApiProperty({ example: 1 }) id!: number;
  @ApiProperty({ example: 'billing' }) name!: string;
  @ApiProperty({ example: 'http://billing:8000' }) url!: string;
  @ApiProperty({ example: '0 3 * * *' }) schedule!: string;
  @ApiProperty({ example: '1AbCdEfGhIjKlMnOpQrStUvWxYz' }) driveFolderId!: string;
  @ApiProperty({ example: 7 }) retention!: number;
  @ApiProperty({ example: true }) enabled!: boolean;
  @ApiProperty({ example: '2026-11-28T03:00:00.000Z' }) createdAt!: Date;
  @ApiProperty({ example: '2026-11-28T03:00:00.000Z' }) updatedAt!: Date;
  @ApiProperty({ example: true, description: 'A token is stored (it is never returned).' }) hasToken!: boolean;

  static from(app: AppEntity): AppResponse {
    const { tokenEncrypted, ...visible } = app;
    return Object.assign(new AppResponse(), visible, { hasToken: tokenEncrypted.length > 0 });
  }
}
