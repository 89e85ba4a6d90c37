#!/usr/bin/env node
// airlock-worker's entry. It lives in the source tree, not in dist/, because npm links a
// package's bins before the `prepare` script builds dist/, and only when their files exist.
// It starts the worker the way a host does (lifecycle/entry.js: compile cache, then the bundle).
await import('../dist/lifecycle/entry.js');
