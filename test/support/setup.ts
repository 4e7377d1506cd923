import { afterAll } from 'vitest';
import { dropScratchDatabasesOfDataDirs } from './postgres';

// TEST_DATABASE=postgres: the scratch databases the file's orchestrators used go with the file.
afterAll(() => dropScratchDatabasesOfDataDirs());
