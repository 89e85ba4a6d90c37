#!/usr/bin/env node
// plugin-run's entry. It lives in the source tree, not in dist/, because npm links a package's
// bins before the `prepare` script builds dist/, and only when their files already exist.
await import('../dist/cli/main.js');
