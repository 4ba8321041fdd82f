// Option parsing for the whole CLI, on Node's util.parseArgs (strict: an
// unknown option, a flag given a value or an option without one is an
// error): --name value, --name=value and boolean flags for xents' own
// commands (parseArgs), single-letter flags that may be grouped (-pc) for
// the xl-compatible ones (parseFlags). Positionals may come anywhere; `--`
// ends the options. Whole-number options are checked here.

import { parseArgs as nodeParseArgs } from "node:util";

export type ArgType = "string" | "int" | "bool" | "list"; // list: the option may repeat
export type ArgSpec = Record<string, ArgType>;
export interface Parsed { [name: string]: string | number | boolean | string[] | undefined; _: string[]; }

export class UsageError extends Error {}

type NodeOptions = Record<string, { type: "string" | "boolean"; multiple?: boolean; short?: string }>;

// util.parseArgs's errors in the CLI's words.
function parse(argv: string[], options: NodeOptions): { values: Record<string, unknown>; positionals: string[] } {
  try {
    return nodeParseArgs({ args: argv, options, strict: true, allowPositionals: true });
  } catch (e) {
    const err = e as { code?: string; message: string };
    if (!err.code?.startsWith("ERR_PARSE_ARGS")) throw e;
    const opt = /'(-[^' ,]+)/.exec(err.message)?.[1] ?? "";
    if (err.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") throw new UsageError(`unknown option ${opt}`);
    if (/does not take an argument/.test(err.message)) throw new UsageError(`${opt} takes no value`);
    if (/argument missing/.test(err.message)) throw new UsageError(`${opt} needs a value`);
    if (/ambiguous/.test(err.message)) throw new UsageError(`${opt} needs a value (write ${opt}=VALUE for one that starts with '-')`);
    throw new UsageError(err.message.split(". ")[0]);
  }
}

// `shorts` gives options a one-letter form as well (-i 100 for --interval 100).
export function parseArgs(argv: string[], spec: ArgSpec, shorts: Record<string, string> = {}): Parsed {
  const options: NodeOptions = {};
  for (const [name, type] of Object.entries(spec)) {
    options[name] = type === "bool" ? { type: "boolean" } : { type: "string", ...(type === "list" ? { multiple: true } : {}) };
    if (shorts[name]) options[name].short = shorts[name];
  }
  const { values, positionals } = parse(argv, options);
  const out: Parsed = { _: positionals };
  for (const [name, v] of Object.entries(values)) {
    if (spec[name] === "int") {
      if (typeof v !== "string" || !/^\d+$/.test(v)) throw new UsageError(`--${name} wants a whole number, not '${String(v)}'`);
      out[name] = Number(v);
    } else out[name] = v as string | boolean | string[];
  }
  return out;
}

// xl's single-letter flags: `allowed` lists the letters; `valued` those
// that take a value (-d 5 or -d5; the last one given counts); the rest are
// positionals.
export function parseFlags(argv: string[], allowed: string, valued = ""): { f: Set<string>; v: Map<string, string>; rest: string[] } {
  const options: NodeOptions = {};
  for (const ch of allowed) options[`flag-${ch}`] = { type: "boolean", short: ch };
  for (const ch of valued) options[`value-${ch}`] = { type: "string", short: ch };
  const { values, positionals } = parse(argv, options);
  const f = new Set<string>(), v = new Map<string, string>();
  for (const [k, x] of Object.entries(values)) {
    if (k.startsWith("flag-")) f.add(k.slice("flag-".length));
    else v.set(k.slice("value-".length), x as string);
  }
  return { f, v, rest: positionals };
}

// A whole number given to an xl letter option, in the CLI's words.
export function wholeNumber(v: string, what: string, min = 0): number {
  if (!/^\d+$/.test(v) || Number(v) < min) throw new UsageError(`${what} wants a whole number${min ? ` from ${min}` : ""}, not '${v}'`);
  return Number(v);
}
