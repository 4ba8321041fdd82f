// Warming up the background translator. It is JavaScript that V8
// optimises as it runs: a cold one takes about three times as long a page,
// in the first requests of a boot, when they come fastest; and V8 throws
// optimised code away (deoptimises) when it meets a path or a kind of value
// it had no feedback for, then optimises it again, each time on another
// core (a Linux boot's requests did that 16 times, ~0.6 s of V8's
// compiling). So while no request waits, the worker translates pages made
// of every instruction form a Linux boot runs, in both compilers' layouts,
// with and without what has run: by the time requests come, V8 has seen
// what they will show it.

import { translatePage } from "./translate_page.js";

// The instruction forms that ran in the translated pages of a boot of
// Debian's arm64 kernel (2026-12-06): each is bits 31:21 and 11:10 of an
// instruction word (opcode, size, sf, V and most of the form: register or
// immediate offset, index mode, shift type...), four hex digits. The other
// bits (registers, immediates, conditions, branch offsets) are drawn anew
// for each warm-up page.
const FORMS_HEX =
  "0103010b0113014001440148016001610162016301640169016b02000220022102220223022702280240024102420243" +
  "0250025102530254025702600263027002710272027302800281028302fe02ff0350035103580359035a035b03600361" +
  "036203630520052105220523052605280529052a052b052c052e052f0540054105420544056006200621062206230640" +
  "0641064206600661066206630680068106820683069c069d069e069f06a006a106a206a306bc06bd06be06bf06c006c1" +
  "06c206c306c406c506c606c706c806c906cb06cc06ce06d006d206d406d506d606d806d906da06dc06dd06de06df06e0" +
  "06e106e206e306e406e506e606e706e806e906ea06ec06ed06ee06f006f106f206f406f506f606f706f806fa06fc06fd" +
  "06fe06ff070007010702070607080709070a070b070e07160720072107220723072407280729072a072b072c072d074a" +
  "079009400942094a094b09580959095a095b0960096209e10a200a210a220a230a400a500a510a520a530a540a550a56" +
  "0a570a600a610a620a630a800a810a820a830a9c0a9d0a9e0a9f0b500b510b580b5a0d2b0d400d440d4e0d600d640d6a" +
  "0e200e210e220e230e240e270e280e290e2a0e400e410e420e430e540e550e560e570f000f010f020f060f080f090f0a" +
  "0f0b0f0e0f1e0f200f210f220f230f240f280f290f2a0f2b0f2c0f310f380f390f480f4a1103110b1113111b11401144" +
  "1160116111621163116411651166116711681169116b11731200120112021203121c121d121e121f1220122112221223" +
  "12241225122612271228122912481249124a124b124c124d124e124f12501251125312551258125c125f126a126b126f" +
  "1278127b1280128112821283128412851286128712f412f512f612f712f812f912fa12fb12fc12fd12fe12ff13401350" +
  "135113581359135a135b136013611362136313641365136613671374137513761377137b150515071510151315181519" +
  "151a152015211522152315241525152715281529152a152b152c152d152e152f15311533153515361539153b153d1540" +
  "15421543154415601563156415a01600160116021603161c161d161e161f1620162116231629162a1640164216481649" +
  "164a164b164c164d164e164f166b166f1680168116821683169c169d169e169f16a016a116a216a316bc16bd16be16bf" +
  "16ca16cb16d416d916da16dc16df16f416f516fb16fc16fe16ff1700170117021703170617081709170a170b170e1710" +
  "17131716172017211722172317241725172617281729172a172b172c1730173117321733173419031907190b190c190e" +
  "1913191b19401960196219631964196819701a001a011a021a031a1d1a1e1a1f1a201a211a221a291a481a4c1a501a51" +
  "1a521a531a541a551a561a571a581a591a5c1a5d1a5e1a5f1a681a691a6a1a6b1a6c1a6d1a6e1a6f1aa01aa11aa21aa3" +
  "1aa41aa51aa71ac01ac41ac81ad01b401b501b511b581b5b1d401d431d441d601d641d681d691d6a1d6b1d701e001e01" +
  "1e021e031e1c1e1d1e1e1e1f1e201e211e221e231e241e271e281e291e2a1e2b1e401e481e491e4a1e4b1e4c1e4d1e4e" +
  "1e4f1e511e531e541e551e561e571e581e591e5a1e5b1e5c1e5d1e5e1e5f1f001f011f021f031f061f081f091f0a1f0b" +
  "1f0e1f161f201f211f221f231f281f291f2a1f2b1f301f481f4a";
export const WARM_UP_FORMS: readonly number[] = Array.from({ length: FORMS_HEX.length / 4 }, (_, i) => parseInt(FORMS_HEX.slice(i * 4, i * 4 + 4), 16));

// Whole instructions whose forms fix bits that the forms above leave to
// chance (registers, system-register fields), as kernel code has them.
const IDIOMS: readonly number[] = [
  0xd503233f, 0xd50323bf, 0xd503201f, 0xd503203f, 0xd503207f, // paciasp, autiasp, nop, yield, wfi
  0xd5033bbf, 0xd5033f9f, 0xd5033fdf, 0xd50339bf, 0xd5033abf, // dmb ish, dsb sy, isb, dmb ishld, dmb ishst
  0xd65f03c0, 0xd69f03e0, 0xd63f0060, 0xd61f0080, 0xd4000001, 0xd4000002, // ret, eret, blr, br, svc, hvc
  0xd538d080, 0xd50342df, 0xd50343ff, 0xd5184100, 0xd5087800, 0xd508871f, 0xd50b7520, // mrs tpidr_el1, msr daifset/daifclr, msr sp_el0, at, tlbi vmalle1, ic ivau
  0xc85f7c01, 0xc8027c01, 0x885f7c01, 0x88027c01, 0xc8dffc01, 0xc89ffc01, 0x08dffc01, // ldxr, stxr (x, w), ldar, stlr, ldarb
  0xc87f0801, 0xc8230801, 0x485f7c01, 0x48027c01, // ldxp, stxp, ldxrh, stxrh
  0xa9bd7bfd, 0x910003fd, 0xa8c37bfd, 0xaa1e03e9, 0xaa0003f3, 0xf90003ff, 0x910003e0, 0xd2800000, // the usual frame and moves (sp, xzr, x30)
  0xd5384100, 0xd50b7420, // mrs sp_el0, dc zva (the core's jitMrs and jitDcZva)
  0xdac00000, 0x5ac00000, 0xdac00400, 0x5ac00400, 0xdac00800, 0x5ac00800, 0xdac00c00, 0xdac01000, 0x5ac01000, 0xdac01400, 0x5ac01400, // rbit, rev16, rev32/rev, rev, clz, cls (x, w)
];

// How many warm-up pages the worker translates (when it has nothing else to do).
export const WARM_UP_ROUNDS = 30;

export interface WarmUpPage { words: Uint32Array; entries: number[]; slowExits: boolean; ran: Uint8Array | undefined }

// Round r's page: every form once, with operands drawn from a generator
// seeded by r, and the idioms, in a shuffled order, then B to itself.
// Entries at 0 and after every unconditional branch (the translator's walk
// stops there). Rounds alternate the baseline and optimised layouts; every
// third has a `ran` map (all of the page's forms, some gaps).
export function warmUpPage(r: number): WarmUpPage {
  let x = (0x9E3779B9 ^ (r * 0x85EBCA6B)) >>> 0 || 1;
  const rnd = (): number => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
  const n = WARM_UP_FORMS.length + IDIOMS.length;
  const words = new Uint32Array(1024);
  WARM_UP_FORMS.forEach((f, i) => { words[i] = ((f >>> 2) << 21) | ((f & 3) << 10) | (rnd() & 0x1FF3FF); });
  words.set(IDIOMS, WARM_UP_FORMS.length);
  for (let i = n - 1; i > 0; i--) { const j = rnd() % (i + 1); const t = words[i]; words[i] = words[j]; words[j] = t; }
  words[n] = 0x14000000;
  const entries = [0];
  for (let i = 0; i < n; i++) if ((words[i] & 0xFC000000) === 0x14000000) entries.push((i + 1) * 4);
  let ran: Uint8Array | undefined;
  if (r % 3 === 2) {
    ran = new Uint8Array(128);
    for (let i = 0; i <= n; i++) if (rnd() % 16 !== 0) ran[i >> 3] |= 1 << (i & 7);
  }
  return { words, entries, slowExits: r % 2 === 1, ran };
}

// One warm-up translation (round r).
export function warmUp(r: number): void {
  const p = warmUpPage(r);
  translatePage(p.words, p.entries, p.slowExits, p.ran);
}
