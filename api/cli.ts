/**
 * The `nudge` command line.
 *   nudge workspace create <name>   creates a workspace and prints its first API key (once)
 */
import { loadConfigOrExit } from '../config/config.js';
import { createOrm, migrate } from '../db/orm.js';
import { createWorkspaceWithKey } from './keys.js';

const [command, subcommand, ...rest] = process.argv.slice(2);

async function main(): Promise<number> {
  if (command === 'workspace' && subcommand === 'create') {
    const name = rest.join(' ').trim();
    if (!name) {
      console.error('usage: nudge workspace create <name>');
      return 64;
    }
    const config = loadConfigOrExit();
    const orm = await createOrm(config.databaseUrl);
    try {
      await migrate(orm);
      const { workspaceId, apiKey } = await createWorkspaceWithKey(orm.em.fork(), name);
      console.log(JSON.stringify({ workspaceId, apiKey: apiKey.key }));
      console.error('Keep the key: it is shown only this once.');
      return 0;
    } finally {
      await orm.close();
    }
  }
  console.error('usage: nudge workspace create <name>');
  return 64;
}

process.exitCode = await main();
