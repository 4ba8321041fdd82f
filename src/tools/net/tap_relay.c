/* tap_relay: joins a host TAP device to an xents bridge. Node cannot issue
 * the TUNSETIFF ioctl, so this small process opens /dev/net/tun, attaches
 * to (or creates) the named TAP device without packet information headers,
 * brings it up, and relays whole Ethernet frames between the device and
 * its stdin/stdout. On the pipes each frame is a 2-byte big-endian length
 * followed by the frame. Once attached it writes "attached <ifname>\n" on
 * stderr; errors go to stderr with exit status 1. It exits when stdin
 * closes (the daemon went away), which removes a device it created.
 *
 * A device it creates gets a MAC address high in the space, FE:FF:FF
 * followed by 24 bits of a hash of the host's name and the device's: a
 * Linux bridge takes the lowest MAC of its ports as its own, so a random
 * one would, about half the time, take over the host's address on that
 * bridge when the device joins and hand it back when it goes (at every
 * daemon restart), and peers that cached the old one could not reach the
 * host until their ARP entry failed. The same name gets the same address
 * each time. Not FE:FF:FF:FF:FF:FF, which Linux's xen-netback gives every
 * vif: this device may be an endpoint with an IP address, and a Linux
 * Domain-0's bridge drops frames whose source is one of its own ports'
 * addresses. A device the host made itself keeps its address. */

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FRAME 65535

static void die(const char *what) {
  fprintf(stderr, "tap_relay: %s: %s\n", what, strerror(errno));
  exit(1);
}

/* Writes all of buf; the pipe may take it in parts. */
static void write_all(int fd, const uint8_t *buf, size_t n) {
  while (n) {
    ssize_t w = write(fd, buf, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      die("writing to the daemon");
    }
    buf += w;
    n -= (size_t)w;
  }
}

int main(int argc, char **argv) {
  if (argc != 2 || strlen(argv[1]) >= IFNAMSIZ || !argv[1][0]) {
    fprintf(stderr, "usage: tap_relay <ifname> (at most %d characters)\n", IFNAMSIZ - 1);
    return 2;
  }
  /* whether TUNSETIFF will create it (a name taken by anything makes it attach or fail) */
  int existed = 0;
  {
    int q = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (q >= 0) {
      struct ifreq probe;
      memset(&probe, 0, sizeof probe);
      strncpy(probe.ifr_name, argv[1], IFNAMSIZ - 1);
      existed = ioctl(q, SIOCGIFINDEX, &probe) == 0;
      close(q);
    }
  }
  int tap = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (tap < 0) die("opening /dev/net/tun");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  strncpy(ifr.ifr_name, argv[1], IFNAMSIZ - 1);
  if (ioctl(tap, TUNSETIFF, &ifr) < 0) {
    if (errno == EINVAL) fprintf(stderr, "tap_relay: %s exists and is not a TAP device\n", argv[1]);
    else if (errno == EBUSY) fprintf(stderr, "tap_relay: %s is held by another process\n", argv[1]);
    else die(argv[1]);
    return 1;
  }

  /* bring the link up; the addresses and bridges around it are the host's business */
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s >= 0) {
    if (!existed) {
      /* FNV-1a over "<host name>\0<device name>" */
      char host[256] = "";
      gethostname(host, sizeof host - 1);
      uint32_t h = 2166136261u;
      for (const char *c = host; *c; c++) h = (h ^ (uint8_t)*c) * 16777619u;
      h *= 16777619u;
      for (const char *c = ifr.ifr_name; *c; c++) h = (h ^ (uint8_t)*c) * 16777619u;
      h = (h ^ (h >> 24)) & 0xffffff;
      if (h == 0xffffff) h = 0xfffffe;
      struct ifreq hw;
      memset(&hw, 0, sizeof hw);
      memcpy(hw.ifr_name, ifr.ifr_name, IFNAMSIZ);
      hw.ifr_hwaddr.sa_family = ARPHRD_ETHER;
      uint8_t mac[6] = { 0xfe, 0xff, 0xff, (uint8_t)(h >> 16), (uint8_t)(h >> 8), (uint8_t)h };
      memcpy(hw.ifr_hwaddr.sa_data, mac, 6);
      if (ioctl(s, SIOCSIFHWADDR, &hw) < 0) fprintf(stderr, "tap_relay: cannot set the MAC address of %s: %s\n", hw.ifr_name, strerror(errno));
    }
    struct ifreq up;
    memset(&up, 0, sizeof up);
    memcpy(up.ifr_name, ifr.ifr_name, IFNAMSIZ);
    if (ioctl(s, SIOCGIFFLAGS, &up) == 0) {
      up.ifr_flags |= IFF_UP;
      if (ioctl(s, SIOCSIFFLAGS, &up) < 0) fprintf(stderr, "tap_relay: cannot bring %s up: %s\n", up.ifr_name, strerror(errno));
    }
    close(s);
  }
  fprintf(stderr, "attached %s\n", ifr.ifr_name);

  static uint8_t from_tap[2 + MAX_FRAME];
  static uint8_t from_daemon[2 + MAX_FRAME];
  size_t have = 0; /* bytes of the next daemon record held in from_daemon */
  struct pollfd p[2] = { { .fd = 0, .events = POLLIN }, { .fd = tap, .events = POLLIN } };
  for (;;) {
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }
    if (p[1].revents & POLLIN) {
      ssize_t n = read(tap, from_tap + 2, MAX_FRAME);
      if (n < 0 && errno != EAGAIN && errno != EINTR) die("reading the TAP device");
      if (n > 0) {
        from_tap[0] = (uint8_t)(n >> 8);
        from_tap[1] = (uint8_t)n;
        write_all(1, from_tap, 2 + (size_t)n);
      }
    }
    if (p[1].revents & (POLLERR | POLLHUP)) {
      fprintf(stderr, "tap_relay: the TAP device went away\n");
      return 1;
    }
    if (p[0].revents & (POLLIN | POLLHUP)) {
      size_t want = have < 2 ? 2 : 2 + (((size_t)from_daemon[0] << 8) | from_daemon[1]);
      ssize_t n = read(0, from_daemon + have, want - have);
      if (n == 0) return 0; /* the daemon closed the pipe */
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        die("reading from the daemon");
      }
      have += (size_t)n;
      if (have >= 2) {
        size_t len = ((size_t)from_daemon[0] << 8) | from_daemon[1];
        if (have == 2 + len) {
          /* a full device queue drops the frame, as a NIC would */
          if (len && write(tap, from_daemon + 2, len) < 0 && errno != EAGAIN && errno != ENOBUFS && errno != EIO) die("writing to the TAP device");
          have = 0;
        }
      }
    }
  }
}
