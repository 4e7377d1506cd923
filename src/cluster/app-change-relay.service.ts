import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Client } from 'pg';
import { AppsService } from '../apps/apps.service';
import { AppConfig } from '../config/app-config';
import { ReplicaLeases } from './replica-leases.service';

const APPS = 'orquestador_apps';
const CANCELS = 'orquestador_cancels';
/** Its connection's name in pg_stat_activity. */
const RELAY_CONNECTION = 'app-orquestador relay';
const RECONNECT_MS = 1000;
/** How far before the connection was lost saves are followed again: `updatedAt` is the saving replica's clock. */
const CLOCK_MARGIN_MS = 60_000;

/**
 * Cluster mode: what one replica must tell the others at once, through PostgreSQL's LISTEN/NOTIFY on a connection
 * of its own. An app saved or deleted here: every other replica reads it again and its jobs follow (milliseconds,
 * well within the 5 s a schedule change may take). A cancel asked here for a run another replica runs: that
 * replica cancels it. Embedded mode: nothing to tell.
 */
@Injectable()
export class AppChangeRelay implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(AppChangeRelay.name);
  private client: Client | null = null;
  private closing = false;
  private reconnecting = false;
  /** When the connection was lost, until it is back and what was missed meanwhile is followed. */
  private lostAt: Date | null = null;
  private readonly cancelListeners: ((runId: number) => void)[] = [];

  constructor(
    private readonly config: AppConfig,
    private readonly apps: AppsService,
    private readonly replica: ReplicaLeases,
  ) {
    if (config.databaseUrl) apps.onChange((change) => !change.remote && void this.tell(APPS, String(change.app.id)));
  }

  get enabled(): boolean {
    return this.config.databaseUrl !== null;
  }

  /** Who cancels a run of this replica that another replica was asked to cancel (BackupRunner). */
  onCancelRequest(listener: (runId: number) => void): void {
    this.cancelListeners.push(listener);
  }

  async requestCancel(runId: number): Promise<void> {
    await this.tell(CANCELS, String(runId));
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.enabled) await this.listen();
  }

  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    await this.client?.end().catch(() => undefined);
  }

  private async listen(): Promise<void> {
    const client = new Client({ connectionString: this.config.databaseUrl!, application_name: RELAY_CONNECTION });
    client.on('error', (error) => this.client === client && this.reconnect(error));
    client.on('end', () => this.client === client && this.reconnect(new Error('connection closed')));
    client.on('notification', ({ channel, payload }) => {
      const [from, id] = (payload ?? '').split(' ');
      if (from === this.replica.id || !/^\d+$/.test(id ?? '')) return;
      if (channel === APPS) {
        this.apps.followRemote(Number(id)).catch((error: Error) => this.logger.error(`could not follow the change of app ${id}: ${error.message}`));
      } else if (channel === CANCELS) {
        for (const listener of this.cancelListeners) listener(Number(id));
      }
    });
    await client.connect();
    await client.query(`LISTEN ${APPS}`);
    await client.query(`LISTEN ${CANCELS}`);
    this.client = client;
    if (this.lostAt) await this.followMissed(this.lostAt);
  }

  /** Saves announced while this replica was not listening: read again, so its jobs follow them now, not at its restart. */
  private async followMissed(lostAt: Date): Promise<void> {
    try {
      const followed = await this.apps.followSavedSince(new Date(lostAt.getTime() - CLOCK_MARGIN_MS));
      this.lostAt = null;
      this.logger.log(`hearing the other replicas again; followed the ${followed} app(s) saved since ${lostAt.toISOString()}`);
    } catch (error) {
      this.reconnect(error as Error);
    }
  }

  /** Until it is back, changes made elsewhere are not heard: logged, and tried again every second. */
  private reconnect(error: Error): void {
    if (this.closing || this.reconnecting) return;
    this.reconnecting = true;
    this.lostAt ??= new Date();
    void this.client?.end().catch(() => undefined);
    this.client = null;
    this.logger.error(`lost the connection that hears other replicas (${error.message}); reconnecting`);
    setTimeout(() => {
      this.reconnecting = false;
      this.listen().catch((failure: Error) => this.reconnect(failure));
    }, RECONNECT_MS).unref();
  }

  private async tell(channel: string, message: string): Promise<void> {
    try {
      const client = this.client;
      if (!client) throw new Error('not connected');
      await client.query('SELECT pg_notify($1, $2)', [channel, `${this.replica.id} ${message}`]);
    } catch (error) {
      this.logger.error(`could not tell the other replicas (${channel} ${message}): ${(error as Error).message}`);
    }
  }
}
