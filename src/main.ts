import { Logger } from '@nestjs/common';
import { createApp } from './app.setup';
import { InvalidConfigurationError, LOG_LEVELS } from './config/environment';
import { loadConfig, LoadedConfig } from './config/load-config';
import { DataDirInUseError } from './database/data-dir-lock';
import { AdminCredentialsDifferError, SecretsDifferError } from './database/postgres-setup';

function loadConfigOrExit(): LoadedConfig {
  try {
    return loadConfig();
  } catch (error) {
    if (!(error instanceof InvalidConfigurationError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}

async function bootstrap(): Promise<void> {
  // Everything the service writes (database, secrets, and rclone's local backups) is for its owner only.
  process.umask(0o077);
  const { config, generatedAdminPassword } = loadConfigOrExit();
  const levels = LOG_LEVELS.slice(0, LOG_LEVELS.indexOf(config.logLevel) + 1);
  const app = await createApp(config, levels).catch((error: unknown) => {
    if (![DataDirInUseError, SecretsDifferError, AdminCredentialsDifferError].some((kind) => error instanceof kind)) throw error;
    console.error((error as Error).message);
    process.exit(1);
  });
  app.enableShutdownHooks();
  if (generatedAdminPassword) {
    // Shown once, as Jenkins does; afterwards it is only in the file.
    new Logger('Bootstrap').warn(
      `Generated the admin password for "${config.adminUser}": ${generatedAdminPassword} ` +
        `(kept in ${config.dataDir}/admin-password; set ADMIN_PASSWORD to choose your own)`,
    );
  }
  // Without HOST, Node listens on every interface (IPv6 and IPv4), as it always has.
  await (config.host ? app.listen(config.port, config.host) : app.listen(config.port));
  new Logger('Bootstrap').log(`app-orquestador listening on ${config.host ?? 'every interface'} port ${config.port}, data in ${config.dataDir}`);
}

void bootstrap();
