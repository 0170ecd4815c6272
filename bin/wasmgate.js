#!/usr/bin/env node
// The `wasmgate` command: runs the TypeScript CLI through tsx's require hook.
require("tsx/cjs");
require("../tools/cli/bin.ts");
