/* A small flattened-device-tree reader: walks the structure block once and
 * fills struct platform with the UART, the GICv3 regions, the virtual timer
 * interrupt, the PSCI conduit and the first memory bank. */
#include "lib.h"

#define FDT_MAGIC 0xd00dfeedu
#define FDT_BEGIN_NODE 1
#define FDT_END_NODE 2
#define FDT_PROP 3
#define FDT_NOP 4
#define FDT_END 9
#define MAX_DEPTH 16

/* Byte loads: the tree may sit in memory read with the MMU off (Device
 * memory), and big-endian cells must be assembled anyway. */
static u32 be32(const u8 *p) { return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3]; }

static u64 cells(const u8 *p, u32 n) {
  u64 v = 0;
  for (u32 i = 0; i < n; i++) v = v << 32 | be32(p + 4 * i);
  return v;
}

struct prop {
  const u8 *val;
  u32 len;
};

struct node {
  const char *name;
  u32 addr_cells, size_cells; /* this node's values, for its children */
  struct prop compatible, reg, interrupts, method, device_type;
  int done;
};

/* Does the string list (NUL-separated) contain s? */
static int strlist_has(struct prop p, const char *s) {
  u32 off = 0;
  while (off < p.len) {
    const char *e = (const char *)p.val + off;
    if (strcmp(e, s) == 0) return 1;
    off += (u32)strlen(e) + 1;
  }
  return 0;
}

static int name_is(const char *name, const char *base) {
  size_t n = strlen(base);
  return strncmp(name, base, n) == 0 && (name[n] == 0 || name[n] == '@');
}

/* reg entry i of node n, whose parent is pn. */
static int reg_entry(const struct node *n, const struct node *pn, u32 i, u64 *addr, u64 *size) {
  u32 ac = pn->addr_cells, sc = pn->size_cells;
  u32 stride = 4 * (ac + sc);
  if (!n->reg.val || stride == 0 || (i + 1) * stride > n->reg.len) return 0;
  const u8 *p = n->reg.val + i * stride;
  *addr = cells(p, ac);
  *size = cells(p + 4 * ac, sc);
  return 1;
}

static void visit(const struct node *n, const struct node *pn, struct platform *p) {
  u64 a, s;
  if (n->compatible.val && (strlist_has(n->compatible, "arm,pl011") || strlist_has(n->compatible, "arm,sbsa-uart"))) {
    if (!p->uart_base && reg_entry(n, pn, 0, &a, &s)) p->uart_base = a;
  }
  if (n->compatible.val && strlist_has(n->compatible, "arm,gic-v3")) {
    if (reg_entry(n, pn, 0, &a, &s)) {
      p->gicd_base = a;
      p->gicd_size = s;
    }
    if (reg_entry(n, pn, 1, &a, &s)) {
      p->gicr_base = a;
      p->gicr_size = s;
    }
  }
  if (n->compatible.val && strlist_has(n->compatible, "arm,armv8-timer")) {
    /* interrupts: secure phys, non-secure phys, virtual, hypervisor; each
     * <type number flags> with type 1 = PPI (INTID 16 + n), 0 = SPI (32 + n). */
    if (n->interrupts.len >= 36) {
      const u8 *v = n->interrupts.val + 24;
      u32 type = be32(v), num = be32(v + 4);
      p->vtimer_intid = type == 1 ? 16 + num : 32 + num;
    }
  }
  /* Xen's /hypervisor node: the program runs as a Xen guest. */
  if (n->compatible.val && strlist_has(n->compatible, "xen,xen")) p->xen = 1;
  if (name_is(n->name, "psci") || (n->compatible.val && strlist_has(n->compatible, "arm,psci-0.2"))) {
    if (n->method.val) {
      const char *m = (const char *)n->method.val;
      if (strcmp(m, "hvc") == 0) p->psci_conduit = 1;
      else if (strcmp(m, "smc") == 0) p->psci_conduit = 2;
    }
  }
  if (n->device_type.val && strcmp((const char *)n->device_type.val, "memory") == 0) {
    if (!p->ram_size && reg_entry(n, pn, 0, &a, &s)) {
      p->ram_base = a;
      p->ram_size = s;
    }
  }
}

int fdt_scan(const void *fdt, struct platform *p) {
  const u8 *base = fdt;
  if (!fdt || be32(base) != FDT_MAGIC) return -1;
  const u8 *st = base + be32(base + 8);
  const char *strs = (const char *)base + be32(base + 12);
  u32 st_size = be32(base + 36);
  struct node stack[MAX_DEPTH];
  int depth = -1;
  u32 off = 0;
  while (off + 4 <= st_size) {
    u32 tok = be32(st + off);
    off += 4;
    if (tok == FDT_BEGIN_NODE) {
      const char *name = (const char *)st + off;
      off = (off + (u32)strlen(name) + 1 + 3) & ~3u;
      /* Properties precede subnodes, so the parent is complete now. */
      if (depth >= 1 && !stack[depth].done) {
        visit(&stack[depth], &stack[depth - 1], p);
        stack[depth].done = 1;
      }
      if (++depth >= MAX_DEPTH) return -1;
      memset(&stack[depth], 0, sizeof(stack[depth]));
      stack[depth].name = name;
      stack[depth].addr_cells = 2;
      stack[depth].size_cells = 1;
    } else if (tok == FDT_END_NODE) {
      if (depth < 0) return -1;
      if (depth >= 1 && !stack[depth].done) visit(&stack[depth], &stack[depth - 1], p);
      depth--;
    } else if (tok == FDT_PROP) {
      u32 len = be32(st + off), nameoff = be32(st + off + 4);
      const u8 *val = st + off + 8;
      off = (off + 8 + len + 3) & ~3u;
      if (depth < 0) return -1;
      const char *pname = strs + nameoff;
      struct node *n = &stack[depth];
      struct prop pr = {val, len};
      if (strcmp(pname, "compatible") == 0) n->compatible = pr;
      else if (strcmp(pname, "reg") == 0) n->reg = pr;
      else if (strcmp(pname, "interrupts") == 0) n->interrupts = pr;
      else if (strcmp(pname, "method") == 0) n->method = pr;
      else if (strcmp(pname, "device_type") == 0) n->device_type = pr;
      else if (strcmp(pname, "#address-cells") == 0 && len == 4) n->addr_cells = be32(val);
      else if (strcmp(pname, "#size-cells") == 0 && len == 4) n->size_cells = be32(val);
    } else if (tok == FDT_NOP) {
    } else if (tok == FDT_END) {
      return 0;
    } else {
      return -1;
    }
  }
  return -1;
}
