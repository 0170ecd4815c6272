// The CLI surface declared as data (commands, options, defaults, help text) and the argv parser.

export interface OptionSpec {
  name: string;
  alias?: string;
  type: "boolean" | "string" | "port" | "count";
  description: string;
  /** Shown in help; booleans default to false. A boolean defaulting to true is shown as --no-<name>,
   * and its description says what --no-<name> does. */
  default?: string | number | boolean;
  /** `--name <valueName>` in help. */
  valueName?: string;
  /** Allowed values for a string option. */
  choices?: readonly string[];
  /** May repeat (values collected in a list). */
  repeat?: boolean;
}

export interface CommandSpec {
  name: string;
  summary: string;
  /** e.g. "[file ...]" */
  args: string;
  /** Extra lines under the usage. */
  details: string[];
  options: OptionSpec[];
}

export const GATEWAY_OPTION: OptionSpec = {
  name: "gateway",
  type: "string",
  valueName: "file",
  description:
    "gateway description: listener, clusters, routes, plugin files, targets (default envoy/gateway.yaml)",
};

const RUN_OPTIONS: OptionSpec[] = [
  GATEWAY_OPTION,
  {
    name: "port",
    type: "port",
    valueName: "n",
    description: "listener port (default: the gateway's, 10000); 0 = any free port",
  },
  {
    name: "admin-port",
    type: "port",
    valueName: "n",
    description: "Envoy admin port (default: the gateway's, 9901); 0 = any free port",
  },
  {
    name: "httpbin-port",
    type: "port",
    valueName: "n",
    description:
      "httpbin ports: n for the first cluster, n+1 for the next... (default: the gateway's); 0 = any free",
  },
  { name: "concurrency", type: "count", valueName: "n", default: 2, description: "Envoy worker threads" },
  {
    name: "log-level",
    type: "string",
    valueName: "level",
    default: "info",
    choices: ["trace", "debug", "info", "warning", "error", "critical", "off"],
    description: "Envoy log level (Wasm plugins log at the same level)",
  },
  {
    name: "build",
    type: "boolean",
    default: true,
    description: "do not build the plugins first; use build/ as is",
  },
];

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: "validate",
    summary: "check WasmPlugin YAML: the Istio CRD schema, its CEL rules and each plugin's own config",
    args: "[file ...]",
    details: [
      "Without files, checks the gateway's plugin files. Documents of other kinds are skipped.",
      "Each plugin's pluginConfig is checked against filters/<plugin>/config.schema.json and then by",
      "loading build/<plugin>.wasm in the emulator and running its on_configure, as Envoy would.",
    ],
    options: [
      GATEWAY_OPTION,
      {
        name: "build",
        type: "boolean",
        default: true,
        description: "do not build the plugins first; use build/ as is",
      },
      {
        name: "wasm",
        type: "boolean",
        default: true,
        description: "schemas only: skip on_configure in the emulator",
      },
    ],
  },
  {
    name: "render",
    summary: "render the gateway description + WasmPlugins into an Envoy bootstrap",
    args: "",
    details: [
      "Prints the bootstrap of one target (YAML). With --write, writes every target's output file and the",
      "mesh manifests named in the gateway description; with --check, fails if any of them is stale.",
    ],
    options: [
      GATEWAY_OPTION,
      {
        name: "target",
        type: "string",
        valueName: "name",
        default: "local",
        description: "target in the gateway description",
      },
      { name: "write", type: "boolean", description: "write every output file of the gateway description" },
      {
        name: "check",
        type: "boolean",
        description: "exit 1 if an output file differs from what render produces",
      },
      { name: "json", type: "boolean", description: "print JSON instead of YAML" },
    ],
  },
  {
    name: "up",
    summary: "build the plugins and run httpbin + Envoy with them (Ctrl-C stops both)",
    args: "",
    details: ["Provisions Envoy and go-httpbin first if missing (bash tools/setup.sh)."],
    options: RUN_OPTIONS,
  },
  {
    name: "dev",
    summary: "like up, and reload plugins on change without restarting Envoy (file-based ECDS)",
    args: "",
    details: [
      "Watches filters/ and the WasmPlugin files; on a change it rebuilds, re-checks and hands each",
      "changed plugin to Envoy through its ECDS file. A new or removed plugin restarts Envoy.",
    ],
    options: RUN_OPTIONS.filter((o) => o.name !== "build"),
  },
  {
    name: "package",
    summary: "write a plugin's .wasm as an OCI image layout (Istio's Wasm image spec), ready to push",
    args: "<plugin>",
    details: [
      "<plugin> is a folder name under filters/ (build/<plugin>.wasm) unless --wasm names a module.",
      "Push the layout with oras, skopeo or crane; reference it as oci://<registry>/<repo>:<tag>.",
    ],
    options: [
      {
        name: "wasm",
        type: "string",
        valueName: "file",
        description: "module to package (default build/<plugin>.wasm)",
      },
      {
        name: "out",
        type: "string",
        valueName: "dir",
        description: "output directory (default build/oci/<plugin>)",
      },
      {
        name: "tag",
        type: "string",
        valueName: "tag",
        default: "latest",
        description: "tag recorded in index.json",
      },
      {
        name: "variant",
        type: "string",
        valueName: "kind",
        default: "oci",
        choices: ["oci", "compat"],
        description: "oci: Wasm artifact media types; compat: one tar+gzip layer with plugin.wasm",
      },
      {
        name: "root-id",
        type: "string",
        valueName: "id",
        repeat: true,
        description: "root context id (default: <plugin>)",
      },
      {
        name: "build",
        type: "boolean",
        default: true,
        description: "do not build the plugin first; use build/ as is",
      },
    ],
  },
];

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export type OptionValues = Record<string, string | number | boolean | string[] | undefined>;

export interface ParsedArgs {
  command: CommandSpec;
  options: OptionValues;
  positionals: string[];
}

/** Parses `argv` (without node and script) for one command. `--help` is reported as option `help`. */
export function parseArgs(command: CommandSpec, argv: readonly string[]): ParsedArgs {
  const options: OptionValues = {};
  const positionals: string[] = [];
  for (const o of command.options) {
    if (o.default !== undefined) options[o.name] = o.default;
    else if (o.type === "boolean") options[o.name] = false;
  }
  const find = (name: string) => command.options.find((o) => o.name === name || o.alias === name);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === "-h" || arg === "--help") {
      options.help = true;
      continue;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    const body = arg.startsWith("--") ? arg.slice(2) : arg.slice(1);
    const eq = body.indexOf("=");
    const rawName = eq < 0 ? body : body.slice(0, eq);
    let spec = find(rawName);
    let negated = false;
    if (!spec && rawName.startsWith("no-")) {
      spec = find(rawName.slice(3));
      negated = spec?.type === "boolean";
      if (!negated) spec = undefined;
    }
    if (!spec) throw new UsageError(`unknown option ${arg.split("=")[0]} for "${command.name}"`);
    if (spec.type === "boolean") {
      if (eq >= 0) throw new UsageError(`--${spec.name} takes no value`);
      options[spec.name] = !negated;
      continue;
    }
    let value: string | undefined;
    if (eq >= 0) value = body.slice(eq + 1);
    else {
      value = argv[i + 1];
      i++;
      if (value !== undefined && value.startsWith("--")) value = undefined;
    }
    if (value === undefined) throw new UsageError(`--${spec.name} needs a value`);
    if (spec.type === "port" || spec.type === "count") {
      const n = /^\d+$/.test(value) ? Number(value) : NaN;
      const [lo, hi] = spec.type === "port" ? [0, 65535] : [1, 64];
      if (!(n >= lo && n <= hi))
        throw new UsageError(`--${spec.name}: expected an integer ${lo}-${hi}, got "${value}"`);
      options[spec.name] = n;
    } else {
      if (spec.choices && !spec.choices.includes(value)) {
        throw new UsageError(`--${spec.name}: expected one of ${spec.choices.join(", ")}, got "${value}"`);
      }
      if (spec.repeat) options[spec.name] = [...((options[spec.name] as string[] | undefined) ?? []), value];
      else options[spec.name] = value;
    }
  }
  return { command, options, positionals };
}

function optionLine(o: OptionSpec): string {
  const flag =
    o.type === "boolean"
      ? o.default === true
        ? `--no-${o.name}`
        : `--${o.name}`
      : `--${o.name} <${o.valueName ?? "value"}>`;
  const def = o.default !== undefined && o.type !== "boolean" ? ` (default ${o.default})` : "";
  return `  ${flag.padEnd(24)} ${o.description}${def}`;
}

export function commandHelp(c: CommandSpec): string {
  return [
    `usage: wasmgate ${c.name}${c.args ? " " + c.args : ""} [options]`,
    "",
    `${c.summary}.`,
    ...c.details,
    "",
    "options:",
    ...c.options.map(optionLine),
    `  ${"-h, --help".padEnd(24)} show this help`,
    "",
  ].join("\n");
}

export function mainHelp(): string {
  return [
    "usage: wasmgate <command> [options]",
    "",
    "Run Istio WasmPlugin resources in a local stock Envoy in front of httpbin.",
    "",
    "commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`),
    "",
    "Run `wasmgate <command> --help` for a command's options. Exit codes: 0 ok, 1 failed, 2 usage error.",
    "",
  ].join("\n");
}
