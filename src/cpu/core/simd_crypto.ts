// stub
import { undefinedInstruction, CLS_SIMD } from "./exceptions";
export function cryptoAes(insn: u32): void { undefinedInstruction(CLS_SIMD); }
export function cryptoSha3(insn: u32): void { undefinedInstruction(CLS_SIMD); }
export function cryptoSha2(insn: u32): void { undefinedInstruction(CLS_SIMD); }
