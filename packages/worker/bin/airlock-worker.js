#!/usr/bin/env node
// airlock-worker's entry. It lives in the source tree, not in dist/, because npm links a
// package's bins before the `prepare` script builds dist/, and only when their files exist.
// It starts the worker the way a host does (lifecycle/entry.js: compile cache, then the bundle);
// with --remote, as the far side of a transport runs it (lifecycle/remote.js: the worker as its
// child, whose death by a signal it reports, and which ends with the connection).
await import(process.argv[2] === '--remote' ? '../dist/lifecycle/remote.js' : '../dist/lifecycle/entry.js');
