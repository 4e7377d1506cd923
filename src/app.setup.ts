import { join } from 'node:path';
import type { LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import cookieParser from 'cookie-parser';
import type { NextFunction, Request, Response } from 'express';
import hbs from 'hbs';
import helmet from 'helmet';
import { Logger as PinoLogger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { AccessService, AuthRefusedException } from './auth/access.service';
import { setPrincipal } from './auth/principal';
import { SESSION_COOKIE } from './auth/sessions.service';
import { refuseCrossSiteWrites } from './auth/cross-site';
import { errorBody, ErrorFilter } from './common/error.filter';
import { createValidationPipe } from './common/validation.pipe';
import { AppConfig } from './config/app-config';
import { DataDirLock, resetPrivateTmpDir } from './database/data-dir-lock';
import { preparePostgres } from './database/postgres-setup';
import { viewHelpers } from './pages/view-helpers';

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/** The API reads JSON only: a write that carries another kind of body is refused before parsing. */
function requireJsonBody(request: Request, response: Response, next: NextFunction): void {
  const hasBody = Number(request.headers['content-length'] ?? 0) > 0 || request.headers['transfer-encoding'] !== undefined;
  if (WRITE_METHODS.has(request.method) && hasBody && !request.is('application/json')) {
    response.status(415).json(errorBody(415, 'the body must be JSON: send Content-Type: application/json'));
    return;
  }
  next();
}

/**
 * helmet's headers with a CSP that allows no inline script anywhere. Swagger UI's page carries inline
 * styles, so only /api/docs may have them. No HSTS and no upgrade-insecure-requests: the service is
 * often reached over plain http on an internal network, where those would make browsers refuse it;
 * HSTS belongs to the TLS proxy in front, when there is one.
 */
function securityHeaders(inlineStyles: boolean) {
  return helmet({
    contentSecurityPolicy: {
      directives: {
        'style-src': inlineStyles ? ["'self'", "'unsafe-inline'"] : ["'self'"],
        'font-src': ["'self'", 'data:'],
        'frame-ancestors': ["'none'"],
        'upgrade-insecure-requests': null,
      },
    },
    strictTransportSecurity: false,
    xFrameOptions: { action: 'deny' },
  });
}

/** Everything main.ts and the e2e tests share: parsers, pipes, filters, views, assets, docs. */
export async function configureApp(app: NestExpressApplication): Promise<void> {
  app.disable('x-powered-by');
  const config = app.get(AppConfig);
  app.set('trust proxy', config.trustProxy);
  const [pageHeaders, docsHeaders] = [securityHeaders(false), securityHeaders(true)];
  app.use((request: Request, response: Response, next: NextFunction) => (request.path.startsWith('/api/docs') ? docsHeaders : pageHeaders)(request, response, next));
  // Before auth and body parsing: a cross-site write is refused without being read.
  app.use(refuseCrossSiteWrites(config.notify.publicUrl));
  app.use('/api', requireJsonBody);
  app.useBodyParser('json', { limit: '100kb' });
  app.useBodyParser('urlencoded', { extended: false, limit: '100kb' });
  app.use(cookieParser());
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new ErrorFilter(config.uiLanguage));

  // Swagger is a plain Express route, outside Nest's guards: the same check protects it (any role may read it).
  const access = app.get(AccessService);
  app.use(['/api/docs', '/api/docs-json', '/api/docs-yaml'], (request: Request, response: Response, next: NextFunction) => {
    access.authenticate(request, response, 'api').then(
      (principal) => {
        setPrincipal(request, principal);
        next();
      },
      (error: unknown) => {
        if (!(error instanceof AuthRefusedException)) return next(error);
        // A browser following the "API docs" link without a session goes to the login page, not to a basic-auth
        // prompt whose credentials it would then keep sending.
        const browserNavigation = request.headers.authorization === undefined && /text\/html/.test(request.headers.accept ?? '');
        if (browserNavigation && error.getStatus() === 401) return response.redirect(303, `/login?next=${encodeURIComponent(request.originalUrl)}`);
        response.set(error.headers).status(error.getStatus()).json(error.getResponse());
      },
    );
  });
  // Assets are public: the login page needs its style sheet, and none of them holds anything private.
  // Every asset is served from here (no CDN): the pages work on a machine with no internet.
  app.useStaticAssets(join(process.cwd(), 'node_modules/bootstrap/dist'), { prefix: '/assets/bootstrap' });
  app.useStaticAssets(join(process.cwd(), 'node_modules/chart.js/dist'), { prefix: '/assets/chart.js' });
  app.useStaticAssets(join(process.cwd(), 'public'), { prefix: '/assets' });

  const views = join(process.cwd(), 'views');
  app.setBaseViewsDir(views);
  app.setViewEngine('hbs');
  app.set('view options', { layout: 'layouts/main' });
  // Compiled once, not at every render (Express caches views only under NODE_ENV=production, which `npm run
  // start:prod` does not set): compiling the dashboard took ~0.1 s of event loop per load.
  app.set('view cache', true);
  for (const [name, helper] of Object.entries(viewHelpers)) hbs.registerHelper(name, helper);
  // registerPartials is asynchronous: the first render must not race it.
  await new Promise<void>((resolve) => hbs.registerPartials(join(views, 'partials'), () => resolve()));

  // Built on the first request for the docs (and kept): reading every route's metadata took ~0.1 s of the boot.
  const document = () =>
    SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle('app-orquestador')
        .setDescription(
          'Backs up registered apps over contract v1 into an rclone remote. All routes but /api/health need credentials: basic auth ' +
            '(the env admin or a user), an API key as a bearer token, or the session cookie of the pages. Each route names the least ' +
            'role it needs (viewer < operator < admin); a lower role gets 403.',
        )
        .setVersion('1')
        .addBasicAuth({ type: 'http', scheme: 'basic', description: 'ADMIN_USER/ADMIN_PASSWORD or a user of /api/users.' }, 'basic')
        .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'An API key from POST /api/keys: Authorization: Bearer ao_…' }, 'bearer')
        .addCookieAuth(SESSION_COOKIE, { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE, description: 'The session the login page opens.' }, 'session')
        .addSecurityRequirements('basic')
        .addSecurityRequirements('bearer')
        .addSecurityRequirements('session')
        .build(),
    );
  SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs-json', yamlDocumentUrl: 'api/docs-yaml' });
}

/**
 * The service for one configuration, exactly as main.ts runs it; the e2e tests boot it the same way.
 * DATA_DIR is locked first (DataDirInUseError when another process has it), before anything in it is touched.
 */
export async function createApp(config: AppConfig, logger: LogLevel[] | false): Promise<NestExpressApplication> {
  const lock = DataDirLock.acquire(config.dataDir);
  try {
    resetPrivateTmpDir(config.tmpDir);
    if (config.databaseUrl) await preparePostgres(config);
    // LOG_FORMAT=json: pino (LoggerModule) takes over once the module exists; what Nest says before is kept until then.
    const json = config.logFormat === 'json' && logger !== false;
    const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, lock), json ? { bufferLogs: true, bodyParser: false } : { logger, bodyParser: false });
    if (json) app.useLogger(app.get(PinoLogger));
    await configureApp(app);
    return app;
  } catch (error) {
    lock.release();
    throw error;
  }
}
