#!/usr/bin/env node
// The `wasmgate` command: runs the TypeScript CLI through tsx's require hook.
require("tsx/cjs");
require("../cli/bin.ts");
