#!/usr/bin/env node
// The `nudge` command. Runs the TypeScript sources through tsx, so it works straight from a
// checkout (`npm run nudge -- …`, or `npm link` for a global `nudge`) without a build step.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
