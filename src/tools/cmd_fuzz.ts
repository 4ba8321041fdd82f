// `xents fuzz <target>`: a fuzzer run, reported as JSON (--json) or as a
// summary; the exit code says whether the run was clean. The targets are
// given by the process that composes the layers (main.ts): a fuzzer plays
// guests against the hypervisor, which the tools never reach directly.

import type { Command } from "./cli.js";
import { parseArgs, UsageError } from "./args.js";

// What every fuzzer reports (its own fields come along in the JSON).
export interface FuzzVerdict {
  seed: number;
  iterations: number;
  host_exceptions: number;
  audit_failures: number;
  leaks: number;
  accounting_ok: boolean;
  distinct_results: string[];
  wrong_answers?: number; // answers checked against what a correct implementation must give
}

export interface FuzzTarget {
  summary: string;
  defaultIterations?: number; // DEFAULT_FUZZ_ITERATIONS unless the target's iterations are costly
  run(o: { iterations: number; seed: number | undefined }): FuzzVerdict | Promise<FuzzVerdict>;
}

export const DEFAULT_FUZZ_ITERATIONS = 2000;

export function fuzzClean(r: FuzzVerdict): boolean {
  return r.host_exceptions === 0 && r.audit_failures === 0 && r.leaks === 0 && r.accounting_ok && (r.wrong_answers ?? 0) === 0;
}

export function fuzzCommand(targets: Record<string, FuzzTarget>): Command {
  const names = Object.keys(targets).join("|");
  return {
    summary: `run a fuzzer against the hypervisor (${names}); exit 1 if it finds anything`,
    usage: `xents fuzz <${names}> [--iterations N] [--seed S] [--json]`,
    async run(argv) {
      const a = parseArgs(argv, { iterations: "int", seed: "string", json: "bool" });
      const name = a._[0];
      const t = name ? targets[name] : undefined;
      if (!t) throw new UsageError(`unknown fuzz target '${name ?? ""}' (have: ${Object.keys(targets).join(", ")})`);
      const iterations = (a.iterations as number | undefined) ?? t.defaultIterations ?? DEFAULT_FUZZ_ITERATIONS;
      if (iterations < 1) throw new UsageError("--iterations must be at least 1");
      const seedText = a.seed as string | undefined;
      let seed: number | undefined;
      if (seedText !== undefined) {
        seed = Number(seedText);
        if (!Number.isInteger(seed) || seed < 0 || seed > 0xFFFFFFFF) throw new UsageError(`--seed wants a 32-bit unsigned integer, not '${seedText}'`);
      }
      const r = await t.run({ iterations, seed });
      const clean = fuzzClean(r);
      if (a.json) process.stdout.write(JSON.stringify({ ...r, clean }) + "\n");
      else {
        process.stdout.write(`fuzz ${name}: seed ${r.seed}, ${r.iterations} iterations: ${clean ? "clean" : "FOUND PROBLEMS"}\n`);
        process.stdout.write(`  host exceptions ${r.host_exceptions}, audit failures ${r.audit_failures}, leaks ${r.leaks}, accounting back at baseline: ${r.accounting_ok}${r.wrong_answers === undefined ? "" : `, wrong answers ${r.wrong_answers}`}\n`);
        if (!clean) process.stdout.write(JSON.stringify(r, null, 2) + "\n");
      }
      return clean ? 0 : 1;
    },
  };
}
