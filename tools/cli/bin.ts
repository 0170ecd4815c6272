// The `wasmgate` command (tools/bin/wasmgate.js loads this through tsx): real I/O in, exit code out.
import { main, processIo } from "./main";
void main(process.argv.slice(2), processIo()).then((code) => (process.exitCode = code));
