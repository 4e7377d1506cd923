import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startContractApp } from './support/contract-app.mjs';
import { filesIn, registerApp, RunBody, runBackup, seed } from './support/backups';
import { bootOrchestrator, Orchestrator } from './support/orchestrator';
import { startWebdav } from './support/webdav';

/**
 * Calendar retention over a year and a half of simulated days: the file names carry the times that rule, so
 * backups "made" on chosen days are planted in the remote, then real backups run and the files left are checked
 * one by one. Policy: the 2 newest, 4 days, 3 ISO weeks, 4 months, 3 years, on Madrid's wall clock. Planted
 * files are all before 2026, so the real runs (made now) are always in a day, week, month and year of their own.
 */
const PLANTED = {
  A: '2025-06-15T22:30:00Z', // Madrid: Mon 16 Jun 00:30 CEST, 2025-W25
  B: '2025-06-15T21:30:00Z', // Sun 15 Jun 23:30, W24
  C: '2025-06-15T08:00:00Z', // Sun 15 Jun 10:00: the same day, older
  D: '2025-06-14T12:00:00Z', // Sat 14 Jun
  E: '2025-06-10T12:00:00Z', // Tue 10 Jun
  F: '2025-06-01T12:00:00Z', // Sun 1 Jun, W22
  G: '2025-05-31T22:30:00Z', // Sun 1 Jun 00:30: June in Madrid (May in UTC), older than F
  H: '2025-05-20T12:00:00Z', // May: the newest of May in Madrid
  I: '2025-03-30T00:30:00Z', // 30 Mar 01:30 CET, half an hour before the change to summer time
  J: '2025-02-28T23:30:00Z', // 1 Mar 00:30 CET: March in Madrid, older than I
  K: '2025-02-10T12:00:00Z', // February
  L: '2024-12-31T23:30:00Z', // 1 Jan 2025 00:30 in Madrid: 2025, not 2024
  M: '2024-12-31T12:00:00Z', // the newest of 2024 in Madrid
  N: '2024-02-29T12:00:00Z', // leap day
  O: '2023-07-01T12:00:00Z', // 2023
} as const;
type Planted = keyof typeof PLANTED;

const nameOf = (key: Planted) => `ledger-${PLANTED[key].replace(/[-:]/g, '')}.db`;
const LATER = 'ledger-20990101T000000Z.db';
// Another app's, a look-alike, a name with an impossible time (13th month, 32nd day) and an unrelated file: never touched.
const OTHERS = ['ledger-2-20250615T000000Z.db', 'ledger-20250101T000000Z.db.bak', 'ledger-20251332T250000Z.db', 'notes.txt'];
const POLICY = { retention: 2, keepDaily: 4, keepWeekly: 3, keepMonthly: 4, keepYearly: 3, timezone: 'Europe/Madrid' };

const remotes = {
  'local folder': async () => ({ env: {}, rootOf: (o: Orchestrator) => o.config.rclone.remote, stop: async () => {} }),
  'WebDAV (rclone serve webdav)': async () => {
    const dav = await startWebdav();
    return { env: { RCLONE_REMOTE: 'dav:', RCLONE_CONFIG: dav.configPath }, rootOf: () => dav.root, stop: dav.stop };
  },
};

describe.each(Object.entries(remotes))('calendar retention (GFS) in a %s remote', (_, makeRemote) => {
  let orchestrator: Orchestrator;
  let contract: Awaited<ReturnType<typeof startContractApp>>;
  let stopRemote: () => Promise<void>;
  let folder: string;
  let appId: number;

  beforeAll(async () => {
    const remote = await makeRemote();
    stopRemote = remote.stop;
    orchestrator = await bootOrchestrator(remote.env);
    contract = await startContractApp();
    contract.setMode({ size: 2000 });
    folder = join(remote.rootOf(orchestrator), 'ledger');
    seed(folder, [...(Object.keys(PLANTED) as Planted[]).map(nameOf), LATER, ...OTHERS]);
    appId = (await registerApp(orchestrator, { name: 'ledger', url: contract.url, driveFolderId: 'ledger', ...POLICY })).id;
  });
  afterAll(async () => {
    await orchestrator?.close();
    await contract?.close();
    await stopRemote?.();
  });

  const keptBy = async () => {
    const listed: { name: string; keptBy: string[] }[] = (await orchestrator.api.get(`/api/apps/${appId}/backups`).expect(200)).body;
    return Object.fromEntries(listed.map((file) => [file.name, file.keptBy]));
  };
  const backup = async (): Promise<RunBody & { backupName: string }> => {
    const run = await runBackup(orchestrator, appId);
    expect(run.status).toBe('succeeded');
    return run as RunBody & { backupName: string };
  };

  it('previews what each rule keeps, and the next run deletes exactly what no rule keeps, and what it pushes out', async () => {
    const preview = await keptBy();
    // Worked by hand: the newest planted file (A) stands for the run.
    expect(preview).toEqual({
      [LATER]: ['future'],
      [nameOf('A')]: ['last', 'daily', 'weekly', 'monthly', 'yearly'],
      [nameOf('B')]: ['last', 'daily', 'weekly'],
      [nameOf('C')]: [],
      [nameOf('D')]: ['daily'],
      [nameOf('E')]: ['daily'],
      [nameOf('F')]: ['weekly'],
      [nameOf('G')]: [],
      [nameOf('H')]: ['monthly'],
      [nameOf('I')]: ['monthly'],
      [nameOf('J')]: [],
      [nameOf('K')]: ['monthly'],
      [nameOf('L')]: [],
      [nameOf('M')]: ['yearly'],
      [nameOf('N')]: [],
      [nameOf('O')]: ['yearly'],
    });

    const first = await backup();
    // The run's file takes a slot of every rule: E, F, K and O are pushed out as well.
    const kept: Planted[] = ['A', 'B', 'D', 'H', 'I', 'M'];
    expect(filesIn(folder)).toEqual([first.backupName, ...kept.map(nameOf), LATER, ...OTHERS].sort());
    for (const [name, rules] of Object.entries(preview)) if (rules.length === 0) expect(filesIn(folder)).not.toContain(name);
    const log = first.log.join('\n');
    expect(log).toContain('retention: keeping 2 newest, 1 a day for 4 days, 1 a week for 3 weeks, 1 a month for 4 months, 1 a year for 3 years ' +
      '(calendar in Europe/Madrid), 9 to delete');
    expect(log).toContain(`retention: warning: ${LATER} is named later than this run`);

    expect(await keptBy()).toEqual({
      [LATER]: ['future'],
      [first.backupName]: ['last', 'daily', 'weekly', 'monthly', 'yearly'],
      [nameOf('A')]: ['last', 'daily', 'weekly', 'monthly', 'yearly'],
      [nameOf('B')]: ['daily', 'weekly'],
      [nameOf('D')]: ['daily'],
      [nameOf('H')]: ['monthly'],
      [nameOf('I')]: ['monthly'],
      [nameOf('M')]: ['yearly'],
    });
  });

  it('keeps only the newest of several backups in one day once the N newest have moved on', async () => {
    const [first] = (await orchestrator.api.get(`/api/apps/${appId}/runs`).expect(200)).body as RunBody[];
    const second = await backup();
    // Two of today's: both are among the 2 newest, so nothing goes.
    expect(filesIn(folder)).toContain(first.backupName);
    expect((await keptBy())[first.backupName!]).toEqual(['last']);
    const third = await backup();
    // The first of today is now neither among the 2 newest nor the newest of its day, week, month or year.
    const kept: Planted[] = ['A', 'B', 'D', 'H', 'I', 'M'];
    expect(filesIn(folder)).toEqual([third.backupName, second.backupName, ...kept.map(nameOf), LATER, ...OTHERS].sort());
    expect(third.log.join('\n')).toContain(`retention: deleted ${first.backupName}`);
    expect((await keptBy())[second.backupName]).toEqual(['last']);
  });

  it('validates the calendar rules and shows them in the API', async () => {
    const { api } = orchestrator;
    for (const [field, value] of [['keepDaily', -1], ['keepWeekly', 1.5], ['keepMonthly', '3'], ['keepYearly', null], ['keepDaily', 3661]] as const) {
      const refused = await api.patch(`/api/apps/${appId}`, { [field]: value }).expect(400);
      expect(refused.body.details.map((detail: { field: string }) => detail.field)).toEqual([field]);
    }
    const patched = await api.patch(`/api/apps/${appId}`, { keepWeekly: 0, keepYearly: 10 }).expect(200);
    expect(patched.body).toMatchObject({ retention: 2, keepDaily: 4, keepWeekly: 0, keepMonthly: 4, keepYearly: 10 });
  });
});
