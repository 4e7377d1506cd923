import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ENVIRONMENT_VARIABLES } from './environment';

describe('.env.example and README', () => {
  it.each(['.env.example', 'README.md'])('%s documents every variable the service reads', (file) => {
    const text = readFileSync(file, 'utf8');
    for (const variable of ENVIRONMENT_VARIABLES) expect(text, variable).toContain(variable);
  });
});
