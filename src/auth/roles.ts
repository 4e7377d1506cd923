import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';

/** Each role can do what the one before it can, and more. */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const REQUIRED_ROLE = 'auth:role';

export function roleAllows(held: Role, needed: Role): boolean {
  return ROLES.indexOf(held) >= ROLES.indexOf(needed);
}

/**
 * The least role a route needs. Every route that is not @Public() must carry one (on the handler or
 * its controller): the global guard refuses a route without it, so a route added without thinking
 * about access is closed, not open.
 *  - viewer: reads that show no secret;
 *  - operator: start a backup, a verification, a connection check, cancel a run;
 *  - admin: everything else (apps, restore, delete, downloads, users, keys, audit).
 * OpenAPI shows it on each operation as `x-required-role`.
 */
export const RequireRole = (role: Role) => applyDecorators(SetMetadata(REQUIRED_ROLE, role), ApiExtension('x-required-role', role));
