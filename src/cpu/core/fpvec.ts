// The floating-point opcodes inside the Advanced SIMD groups. Each hook
// returns true when the encoding is a floating-point one it executed (or
// raised UNDEFINED for), false when the integer AdvSIMD code should decode it.
// `scalar`: the AdvSIMD scalar form of the group (bits 31:30 = 01, bit 28 = 1).

export function simdFpThreeSame(insn: u32, scalar: bool): bool { return false; }
export function simdFpTwoRegMisc(insn: u32, scalar: bool): bool { return false; }
export function simdFpIndexed(insn: u32, scalar: bool): bool { return false; }
export function simdFpAcrossLanes(insn: u32): bool { return false; }
export function simdFpScalarPairwise(insn: u32): bool { return false; }
export function simdFpShiftImm(insn: u32, scalar: bool): bool { return false; }
