// Differential conformance of scalar floating point against qemu-aarch64:
// registers, NZCV and FPSR under random FPCR settings.
import { caseCount } from "../diff/rng.js";
import { diffClassTest } from "../diff/class_test.js";
import type { Gen } from "../diff/gen_int.js";
import { genFpArith, genFp1, genFpCompare, genFpConvert } from "../diff/gen_fp.js";

const N = caseCount("XENTS_DIFF_CASES", 2000);

const classTest = (name: string, gen: Gen): void => diffClassTest(name, gen, { count: N, seedMul: 104729 });

classTest("FP arithmetic (add, sub, mul, div, max, min, fused multiply-add)", genFpArith);
classTest("FP one-source (abs, neg, sqrt, precision conversions, round to integral)", genFp1);
classTest("FP compare and select", genFpCompare);
classTest("FP conversions and moves", genFpConvert);
import { genFpVec } from "../diff/gen_fp.js";
classTest("AdvSIMD floating point (vector, scalar, by element, across, pairwise, fixed point)", genFpVec);
