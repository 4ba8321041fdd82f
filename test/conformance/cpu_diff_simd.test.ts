// Differential conformance of the integer Advanced SIMD groups, the SIMD
// structure loads/stores and the crypto extension against qemu-aarch64.
import { caseCount } from "../diff/rng.js";
import { diffClassTest } from "../diff/class_test.js";
import { Gen, genThreeSame, genThreeDiff, genIndexed, genMisc, genAcross, genCopy, genModImm, genPermute, genShiftImm, genLdStSimd, genCrypto } from "../diff/gen_simd.js";

const N = caseCount("XENTS_DIFF_CASES", 3000);

const groupTest = (name: string, gen: Gen, maxSteps = 3): void => diffClassTest(name, gen, { count: N, maxSteps, seedMul: 7919 });

groupTest("simd three same", genThreeSame);
groupTest("simd three different", genThreeDiff);
groupTest("simd by element", genIndexed);
groupTest("simd two-register misc", genMisc);
groupTest("simd across lanes", genAcross);
groupTest("simd copy", genCopy);
groupTest("simd modified immediate", genModImm);
groupTest("simd permute, EXT, TBL/TBX", genPermute);
groupTest("simd shift by immediate", genShiftImm);
groupTest("simd structure loads and stores", genLdStSimd, 1);
groupTest("crypto (AES, SHA1, SHA256, PMULL.1Q)", genCrypto);
