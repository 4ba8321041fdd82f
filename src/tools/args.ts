// Option parsing for the CLI: --name value, --name=value and boolean flags,
// with a clear error for anything unknown or malformed.

export type ArgType = "string" | "int" | "bool" | "list"; // list: the option may repeat
export type ArgSpec = Record<string, ArgType>;
export interface Parsed { [name: string]: string | number | boolean | string[] | undefined; _: string[]; }

export class UsageError extends Error {}

export function parseArgs(argv: string[], spec: ArgSpec): Parsed {
  const out: Parsed = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--") || a === "--") { if (a !== "--") out._.push(a); else out._.push(...argv.slice(i + 1)); if (a === "--") break; continue; }
    const eq = a.indexOf("=");
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    const type = spec[name];
    if (!type) throw new UsageError(`unknown option --${name}`);
    if (type === "bool") { if (eq > 0) throw new UsageError(`--${name} takes no value`); out[name] = true; continue; }
    const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (v === undefined) throw new UsageError(`--${name} needs a value`);
    if (type === "int") {
      if (!/^\d+$/.test(v)) throw new UsageError(`--${name} wants a whole number, not '${v}'`);
      out[name] = Number(v);
    } else if (type === "list") out[name] = [...((out[name] as string[] | undefined) ?? []), v];
    else out[name] = v;
  }
  return out;
}
