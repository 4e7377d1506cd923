import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';
import { LessThan, Repository } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { SessionEntity } from './session.entity';

export const SESSION_COOKIE = 'session';

/** lastSeenAt is written at most this often: a page that polls every second does not write every second. */
const TOUCH_EVERY_MS = 30_000;

export interface NewSession {
  subject: string;
  name: string;
  role: string;
  credential: string | null;
}

/** Page sessions kept in the database: idle and absolute expiry, ended on the server at log out. */
@Injectable()
export class SessionsService {
  private readonly credentialKey: Buffer;

  constructor(
    @InjectRepository(SessionEntity) private readonly sessions: Repository<SessionEntity>,
    private readonly config: AppConfig,
  ) {
    this.credentialKey = Buffer.from(hkdfSync('sha256', config.secretKey, 'app-orquestador', 'session-credential', 32));
  }

  /** What a session remembers of a credential: enough to notice it changed, useless to anyone who reads it. */
  credentialTag(credential: string): string {
    return createHmac('sha256', this.credentialKey).update(credential).digest('base64url');
  }

  /** Opens a session and sets its cookie; returns the session's id (the stored hash). A session the browser had is ended. */
  async open(session: NewSession, request: Request, response: Response): Promise<string> {
    const now = new Date();
    const previous: unknown = request.cookies?.[SESSION_COOKIE];
    if (typeof previous === 'string' && previous !== '') await this.sessions.delete({ id: hashOf(previous) });
    await this.sessions.delete({ expiresAt: LessThan(now) });
    await this.sessions.delete({ lastSeenAt: LessThan(new Date(now.getTime() - this.config.session.idleMs)) });
    const token = randomBytes(32).toString('base64url');
    const id = hashOf(token);
    await this.sessions.insert({ ...session, id, createdAt: now, lastSeenAt: now, expiresAt: new Date(now.getTime() + this.config.session.absoluteMs) });
    response.cookie(SESSION_COOKIE, token, {
      httpOnly: true,
      sameSite: 'lax',
      secure: this.secureCookies(request),
      path: '/',
      maxAge: this.config.session.absoluteMs,
    });
    return id;
  }

  /** The live session the request's cookie names, or null (none, unknown, idle too long, past its end). */
  async resume(request: Request): Promise<SessionEntity | null> {
    const token: unknown = request.cookies?.[SESSION_COOKIE];
    if (typeof token !== 'string' || token === '') return null;
    const session = await this.sessions.findOneBy({ id: hashOf(token) });
    if (!session) return null;
    const now = Date.now();
    if (session.expiresAt.getTime() <= now || session.lastSeenAt.getTime() + this.config.session.idleMs <= now) {
      await this.sessions.delete({ id: session.id });
      return null;
    }
    if (now - session.lastSeenAt.getTime() > TOUCH_EVERY_MS) await this.sessions.update({ id: session.id }, { lastSeenAt: new Date(now) });
    return session;
  }

  async end(id: string, request: Request, response: Response): Promise<void> {
    await this.sessions.delete({ id });
    response.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'lax', secure: this.secureCookies(request), path: '/' });
  }

  /** Ends every session of one subject (a user deleted or whose role changed). */
  async endAllOf(subject: string): Promise<void> {
    await this.sessions.delete({ subject });
  }

  private secureCookies(request: Request): boolean {
    return this.config.notify.publicUrl?.startsWith('https:') === true || request.secure;
  }
}

function hashOf(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
