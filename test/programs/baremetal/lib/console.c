/* Console output through a PL011 or SBSA UART: both have the data register
 * at +0 and the flag register (TXFF = bit 5) at +0x18, and accept 32-bit
 * accesses. A Xen guest without a UART (no vpl011) writes through
 * HYPERVISOR_console_io instead, a line at a time (one hypercall per character would be most of a short program's
 * run). Plus a small printf: %s %c %d %u %x with l/ll, width and 0. */
#include "lib.h"
#include "xen.h"

#define UART_DR 0x00
#define UART_FR 0x18
#define FR_TXFF (1u << 5)

static u64 uart;
static int on_xen;
static char line[128];
static u64 line_len;

void console_init(u64 uart_base, int xen) {
  uart = uart_base;
  on_xen = xen && !uart_base;
}

static void xen_flush(void) {
  if (line_len) hypercall(HC_CONSOLE_IO, CONSOLEIO_write, line_len, (u64)line, 0, 0);
  line_len = 0;
}

void con_putc(char c) {
  if (on_xen) {
    line[line_len++] = c;
    if (c == '\n' || line_len == sizeof(line)) xen_flush();
    return;
  }
  if (!uart) return;
  while (mmio_read32(uart + UART_FR) & FR_TXFF) {
  }
  mmio_write32(uart + UART_DR, (u8)c);
}

void con_puts(const char *s) {
  while (*s) con_putc(*s++);
}

static void put_num(u64 v, unsigned base, int width, char pad, int neg) {
  char buf[24];
  int n = 0;
  do {
    unsigned d = (unsigned)(v % base);
    buf[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
    v /= base;
  } while (v);
  if (neg) {
    if (pad == '0') {
      con_putc('-');
      width--;
    } else {
      buf[n++] = '-';
    }
  }
  for (int i = n; i < width; i++) con_putc(pad);
  while (n) con_putc(buf[--n]);
}

void printf(const char *fmt, ...) {
  __builtin_va_list ap;
  __builtin_va_start(ap, fmt);
  for (; *fmt; fmt++) {
    if (*fmt != '%') {
      con_putc(*fmt);
      continue;
    }
    fmt++;
    char pad = ' ';
    int width = 0, lng = 0;
    if (*fmt == '0') {
      pad = '0';
      fmt++;
    }
    while (*fmt >= '0' && *fmt <= '9') width = width * 10 + (*fmt++ - '0');
    while (*fmt == 'l') {
      lng++;
      fmt++;
    }
    switch (*fmt) {
      case 's': {
        const char *s = __builtin_va_arg(ap, const char *);
        int len = (int)strlen(s);
        for (int i = len; i < width; i++) con_putc(' ');
        con_puts(s);
        break;
      }
      case 'c':
        con_putc((char)__builtin_va_arg(ap, int));
        break;
      case 'd': {
        s64 v = lng ? __builtin_va_arg(ap, s64) : __builtin_va_arg(ap, int);
        put_num(v < 0 ? (u64)-v : (u64)v, 10, width, pad, v < 0);
        break;
      }
      case 'u':
      case 'x': {
        u64 v = lng ? __builtin_va_arg(ap, u64) : __builtin_va_arg(ap, unsigned);
        put_num(v, *fmt == 'x' ? 16 : 10, width, pad, 0);
        break;
      }
      case '%':
        con_putc('%');
        break;
      case 0:
        fmt--;
        break;
      default:
        con_putc('%');
        con_putc(*fmt);
        break;
    }
  }
  __builtin_va_end(ap);
}

const char *okstr(int cond) { return cond ? "ok" : "WRONG"; }
