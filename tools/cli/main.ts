// The wasmgate CLI's shell: parses argv, runs one command, prints errors a person can read, and returns
// the exit code (0 ok, 1 failed, 2 usage error). It never calls process.exit; tools/cli/bin.ts does the
// process wiring. Commands live in cmd-*.ts, run.ts (up) and dev.ts; the pure core in render.ts,
// validate.ts, order.ts, gateway.ts, wasmplugin.ts, json-schema.ts, ecds.ts, mesh.ts and package-oci.ts.

import { EnvoyStartError, HarnessSetupError } from "../harness";
import { packageCommand } from "./cmd-package";
import { renderCommand } from "./cmd-render";
import { validateCommand } from "./cmd-validate";
import { CliIo, Reported } from "./context";
import { devCommand } from "./dev";
import { commandHelp, COMMANDS, mainHelp, parseArgs, ParsedArgs, UsageError } from "./options";
import { upCommand } from "./run";

export type { CliIo } from "./context";

const HANDLERS: Record<string, (args: ParsedArgs, io: CliIo) => Promise<number>> = {
  validate: validateCommand,
  render: renderCommand,
  up: upCommand,
  dev: devCommand,
  package: packageCommand,
};

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "-h" || name === "--help" || name === "help") {
    (name === undefined ? io.stderr : io.stdout)(mainHelp());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.stderr(`wasmgate: unknown command "${name}" (commands: ${COMMANDS.map((c) => c.name).join(", ")})\n`);
    return 2;
  }
  let args: ParsedArgs;
  try {
    args = parseArgs(command, rest);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stderr(`wasmgate ${name}: ${e.message}\nRun \`wasmgate ${name} --help\` for the options.\n`);
    return 2;
  }
  if (args.options.help) {
    io.stdout(commandHelp(command));
    return 0;
  }
  try {
    return await HANDLERS[name]!(args, io);
  } catch (e) {
    if (e instanceof Reported) return e.code;
    if (e instanceof HarnessSetupError || e instanceof EnvoyStartError) {
      io.stderr(`wasmgate ${name}: ${e.message}\n`);
      return 1;
    }
    // Anything else is a bug in wasmgate, so the stack trace is worth showing.
    io.stderr(
      `wasmgate ${name}: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
    );
    return 1;
  }
}

const STOP_SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/** The real process's I/O, for bin.ts. */
export function processIo(): CliIo {
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    cwd: process.cwd(),
    env: process.env,
    onInterrupt(handler) {
      for (const s of STOP_SIGNALS) process.on(s, handler);
      return () => {
        for (const s of STOP_SIGNALS) process.off(s, handler);
      };
    },
  };
}
