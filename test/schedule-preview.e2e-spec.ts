import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootOrchestrator, Orchestrator } from './support/orchestrator';

describe('GET /api/schedule-preview', () => {
  let orchestrator: Orchestrator;

  beforeAll(async () => {
    orchestrator = await bootOrchestrator({ SCHEDULER_TIMEZONE: 'Europe/Madrid' });
  });
  afterAll(() => orchestrator?.close());

  const preview = (query: string) => orchestrator.api.get(`/api/schedule-preview?${query}`);

  it('gives the next three firings in the zone and the expression in words', async () => {
    const { body } = await preview(`cron=${encodeURIComponent('0 3 * * *')}&timezone=America/New_York`).expect(200);
    expect(body).toMatchObject({ valid: true, description: 'At 03:00', timezone: 'America/New_York' });
    expect(body.next).toHaveLength(3);
    const times = body.next.map((at: string) => Date.parse(at));
    expect(times[0]).toBeGreaterThan(Date.now());
    for (const [i, at] of body.next.entries()) {
      expect(new Intl.DateTimeFormat('en-GB', { timeZone: 'America/New_York', hour: '2-digit', minute: '2-digit' }).format(new Date(at))).toBe('03:00');
      if (i > 0) expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(23 * 3600_000);
    }
  });

  it('uses SCHEDULER_TIMEZONE when no zone is given, and describes in Spanish when asked', async () => {
    const { body } = await preview(`cron=${encodeURIComponent('0 * * * *')}&locale=es`).expect(200);
    expect(body.timezone).toBe('Europe/Madrid');
    expect(body.description).toMatch(/cada hora/i);
    expect(Date.parse(body.next[1]) - Date.parse(body.next[0])).toBe(3600_000);
  });

  it.each([
    ['* * *', 'must have 5 fields'],
    ['61 * * * *', 'is not a valid cron expression'],
    ['0 0 30 2 *', 'never fires'],
  ])('says why %s is refused, as saving an app would', async (cron, reason) => {
    const { body } = await preview(`cron=${encodeURIComponent(cron)}`).expect(200);
    expect(body).toMatchObject({ valid: false, next: [], description: '' });
    expect(body.error).toContain(reason);
  });

  it.each([
    ['cron', ''],
    ['cron', 'timezone=UTC'],
    ['timezone', `cron=${encodeURIComponent('0 3 * * *')}&timezone=Mars/Base`],
    ['locale', `cron=${encodeURIComponent('0 3 * * *')}&locale=fr`],
  ])('answers 400 naming %s for %j', async (field, query) => {
    const response = await preview(query).expect(400);
    expect(response.body.details).toContainEqual({ field, reasons: [expect.any(String)] });
  });

  it('is documented in OpenAPI', async () => {
    const { body } = await orchestrator.api.get('/api/docs-json').expect(200);
    expect(body.paths['/api/schedule-preview'].get.parameters.map((parameter: { name: string }) => parameter.name).sort()).toEqual(['cron', 'locale', 'timezone']);
  });
});
