// The `xents` command line: a table of subcommands, each in its own module.

import { UsageError } from "./args.js";

export interface Command {
  summary: string;
  usage: string;
  run(args: string[]): Promise<number> | number;
  // The arguments are another program's (run-user): --help among them is not ours.
  passThrough?: boolean;
}

function help(commands: Record<string, Command>): string {
  const lines = ["usage: xents <command> [args...]", "", "commands:"];
  for (const [name, c] of Object.entries(commands)) lines.push(`  ${name.padEnd(12)} ${c.summary}`);
  lines.push("", "xents <command> --help shows a command's usage.");
  return lines.join("\n") + "\n";
}

export async function runCli(argv: string[], commands: Record<string, Command>): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(help(commands));
    return name ? 0 : 2;
  }
  const cmd = commands[name];
  if (!cmd) {
    process.stderr.write(`xents: unknown command '${name}'\n${help(commands)}`);
    return 2;
  }
  if (cmd.passThrough ? rest[0] === "--help" || rest[0] === "-h" : rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(`usage: ${cmd.usage}\n${cmd.summary}\n`);
    return 0;
  }
  try {
    return await cmd.run(rest);
  } catch (e) {
    process.stderr.write(`xents ${name}: ${e instanceof Error ? e.message : String(e)}\n`);
    if (e instanceof UsageError) process.stderr.write(`usage: ${cmd.usage}\n`);
    return e instanceof UsageError ? 2 : 1;
  }
}
