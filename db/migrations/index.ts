// Migrations are listed explicitly so they run the same from TypeScript sources, the
// compiled build and the tests, with no file discovery. Add new ones at the end.
import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261125041600 } from './Migration20261125041600.js';
import { Migration20261125041700 } from './Migration20261125041700.js';
import { Migration20261125043152 } from './Migration20261125043152.js';
import { Migration20261125052535 } from './Migration20261125052535.js';
import { Migration20261130120000 } from './Migration20261130120000.js';
import { Migration20261130140000 } from './Migration20261130140000.js';
import { Migration20261130210000 } from './Migration20261130210000.js';

export const migrationsList: MigrationObject[] = [
  { name: 'Migration20261125041600', class: Migration20261125041600 },
  { name: 'Migration20261125041700', class: Migration20261125041700 },
  { name: 'Migration20261125043152', class: Migration20261125043152 },
  { name: 'Migration20261125052535', class: Migration20261125052535 },
  { name: 'Migration20261130120000', class: Migration20261130120000 },
  { name: 'Migration20261130140000', class: Migration20261130140000 },
  { name: 'Migration20261130210000', class: Migration20261130210000 },
];
