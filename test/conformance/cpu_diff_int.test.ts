// Differential conformance of the integer classes against qemu-aarch64.
import { caseCount } from "../diff/rng.js";
import { diffClassTest } from "../diff/class_test.js";
import { genDpImm, genDpReg, genLdSt, genExcl, genBranch, genCompareBranch, Gen } from "../diff/gen_int.js";

const N = caseCount("XENTS_DIFF_CASES", 2000);

const classTest = (name: string, gen: Gen, maxSteps = 3): void => diffClassTest(name, gen, { count: N, maxSteps, seedMul: 7919 });

classTest("data processing (immediate)", genDpImm);
classTest("data processing (register)", genDpReg);
classTest("loads and stores", genLdSt, 1);
classTest("exclusives and acquire/release", genExcl, 1);
classTest("branches", genBranch);
classTest("flag-setting instructions followed at once by B.cond", genCompareBranch);
