import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'auth:public';

/** Marks a route that needs no credentials (the health check probed by Docker). */
export const Public = () => SetMetadata(IS_PUBLIC, true);
