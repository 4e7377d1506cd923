import { describe, expect, it } from 'vitest';
import { backupChart } from './backup-chart';

const at = (iso: string) => new Date(iso);

describe('backupChart', () => {
  it('puts both series in the unit of their largest value, with the exact figures in the tooltips', () => {
    const chart = backupChart(
      [
        { id: 7, startedAt: at('2026-11-28T03:00:05Z'), bytes: 512 * 1024, durationMs: 800 },
        { id: 9, startedAt: at('2026-11-29T03:00:04Z'), bytes: 3 * 1024 * 1024 + 512 * 1024, durationMs: 95_000 },
      ],
      'en',
      'Europe/Madrid',
    );
    expect(chart.runs).toEqual([7, 9]);
    expect(chart.size).toEqual({ title: 'Size (MiB)', values: [0.5, 3.5], labels: ['Size: 512 KiB', 'Size: 3.5 MiB'] });
    expect(chart.duration).toEqual({ title: 'Duration (s)', values: [0.8, 95], labels: ['Duration: 800 ms', 'Duration: 1 min 35 s'] });
    // Dates in the service's zone (04:00 in Madrid), not the browser's.
    expect(chart.labels).toEqual(['Nov 28, 04:00 AM', 'Nov 29, 04:00 AM']);
    expect(chart.times[1]).toBe('Nov 29, 2026, 04:00:04 AM GMT+1');
  });

  it('speaks the page language, and uses minutes, milliseconds and bytes when those fit best', () => {
    const chart = backupChart([{ id: 1, startedAt: at('2026-11-29T03:00:00Z'), bytes: 900, durationMs: 3 * 60_000 }], 'es', 'UTC');
    expect(chart.x.title).toBe('Inicio de la copia');
    expect(chart.size).toMatchObject({ title: 'Tamaño (B)', values: [900], labels: ['Tamaño: 900 B'] });
    expect(chart.duration).toMatchObject({ title: 'Duración (min)', values: [3] });
    expect(backupChart([{ id: 1, startedAt: at('2026-11-29T03:00:00Z'), bytes: 0, durationMs: 40 }], 'en', 'UTC').duration.title).toBe('Duration (ms)');
    expect(backupChart([{ id: 1, startedAt: at('2026-11-29T03:00:00Z'), bytes: 0, durationMs: 40 }], 'en', 'UTC').size.values).toEqual([0]);
  });
});
