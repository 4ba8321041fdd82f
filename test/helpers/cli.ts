// Runs the xents CLI as a user would, against a host in its own XENTS_HOME.

import { spawn, ChildProcess } from "node:child_process";
import type { ConsoleEndpoint } from "./linux_guest.js";
import { childInput } from "../../src/tools/child_input.js";

export const XENTS_BIN = "bin/xents.js";

export interface CliResult { code: number | null; stdout: string; stderr: string; }

export function xentsCli(home: string, args: string[], timeoutMs = 120_000): Promise<CliResult> {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, [XENTS_BIN, ...args], { env: { ...process.env, XENTS_HOME: home }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "", stderr = "";
    p.stdout.setEncoding("utf8").on("data", (d: string) => { stdout += d; });
    p.stderr.setEncoding("utf8").on("data", (d: string) => { stderr += d; });
    const t = setTimeout(() => { p.kill("SIGKILL"); rej(new Error(`xents ${args.join(" ")} took more than ${timeoutMs} ms; stderr: ${stderr}`)); }, timeoutMs);
    p.on("close", (code) => { clearTimeout(t); res({ code, stdout, stderr }); });
  });
}

// Runs a command that must succeed and returns its stdout.
export async function xentsOk(home: string, args: string[], timeoutMs?: number): Promise<string> {
  const r = await xentsCli(home, args, timeoutMs);
  if (r.code !== 0) throw new Error(`xents ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

// `xents console <domain>` with its stdin and stdout as pipes.
export class CliConsole implements ConsoleEndpoint {
  readonly proc: ChildProcess;
  readonly exited: Promise<number | null>;
  constructor(home: string, readonly name: string, options: string[] = []) {
    this.proc = spawn(process.execPath, [XENTS_BIN, "console", ...options, name], { env: { ...process.env, XENTS_HOME: home }, stdio: ["pipe", "pipe", "inherit"] });
    this.exited = new Promise((res) => this.proc.on("close", (code) => res(code)));
    this.send = childInput(this.proc);
  }
  readonly send: (data: Uint8Array) => void;
  listen(l: (data: Uint8Array) => void): void { this.proc.stdout!.on("data", (d: Buffer) => l(new Uint8Array(d))); }
  close(): void { this.proc.stdin?.end(); this.proc.kill(); }
}
