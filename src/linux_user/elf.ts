// ELF64 little-endian AArch64 executables: the header and program headers
// the user-mode loader needs (static and static-pie programs).

export const PT_LOAD = 1;
export const PT_INTERP = 3;
export const PT_PHDR = 6;
export const PF_X = 1, PF_W = 2, PF_R = 4;
export const ET_EXEC = 2, ET_DYN = 3;
const EM_AARCH64 = 183;

export interface ProgramHeader {
  type: number; flags: number; offset: number; vaddr: bigint; filesz: number; memsz: number; align: number;
}
export interface ElfImage {
  type: number; entry: bigint; phoff: number; phentsize: number; phnum: number;
  phdrs: ProgramHeader[]; bytes: Uint8Array;
}

export class ElfError extends Error {}

export function parseElf(bytes: Uint8Array): ElfImage {
  if (bytes.length < 64 || bytes[0] !== 0x7F || bytes[1] !== 0x45 || bytes[2] !== 0x4C || bytes[3] !== 0x46) {
    throw new ElfError("not an ELF file");
  }
  if (bytes[4] !== 2) throw new ElfError("not a 64-bit ELF file");
  if (bytes[5] !== 1) throw new ElfError("not a little-endian ELF file");
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = dv.getUint16(16, true);
  const machine = dv.getUint16(18, true);
  if (machine !== EM_AARCH64) throw new ElfError(`ELF machine ${machine} is not AArch64`);
  if (type !== ET_EXEC && type !== ET_DYN) throw new ElfError(`ELF type ${type} is not an executable`);
  const entry = dv.getBigUint64(24, true);
  const phoff = Number(dv.getBigUint64(32, true));
  const phentsize = dv.getUint16(54, true);
  const phnum = dv.getUint16(56, true);
  if (phentsize < 56 || phoff + phnum * phentsize > bytes.length) throw new ElfError("truncated program headers");
  const phdrs: ProgramHeader[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    const ph: ProgramHeader = {
      type: dv.getUint32(o, true),
      flags: dv.getUint32(o + 4, true),
      offset: Number(dv.getBigUint64(o + 8, true)),
      vaddr: dv.getBigUint64(o + 16, true),
      filesz: Number(dv.getBigUint64(o + 32, true)),
      memsz: Number(dv.getBigUint64(o + 40, true)),
      align: Number(dv.getBigUint64(o + 48, true)),
    };
    if (ph.type === PT_LOAD && ((ph.filesz > 0 && ph.offset + ph.filesz > bytes.length) || ph.filesz > ph.memsz)) {
      throw new ElfError(`segment ${i} lies outside the file`);
    }
    if (ph.type === PT_INTERP) throw new ElfError("dynamically linked programs are not supported (PT_INTERP); use a static build");
    phdrs.push(ph);
  }
  return { type, entry, phoff, phentsize, phnum, phdrs, bytes };
}
