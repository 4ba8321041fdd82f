/* Run inside a driver domain: tries to map other domains' grant references
 * through Linux's gntdev (GNTTABOP_map_grant_ref, which the hypervisor
 * checks) and says for each whether it got the page. Usage:
 *   gnt_probe DOMID:REF ...
 * prints "DOMID:REF mapped WORD" (the page's first 32-bit word) or
 * "DOMID:REF refused ERRNO". Exit 0 unless its own set-up fails. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xen/sys/gntdev.h>

int main(int argc, char **argv) {
  int fd = open("/dev/xen/gntdev", O_RDWR);
  if (fd < 0) { perror("open /dev/xen/gntdev"); return 2; }
  for (int i = 1; i < argc; i++) {
    unsigned domid, ref;
    if (sscanf(argv[i], "%u:%u", &domid, &ref) != 2) { fprintf(stderr, "bad argument %s (DOMID:REF)\n", argv[i]); return 2; }
    struct ioctl_gntdev_map_grant_ref map;
    memset(&map, 0, sizeof(map));
    map.count = 1;
    map.refs[0].domid = domid;
    map.refs[0].ref = ref;
    if (ioctl(fd, IOCTL_GNTDEV_MAP_GRANT_REF, &map) < 0) { printf("%u:%u refused %d\n", domid, ref, errno); continue; }
    /* the hypervisor is asked here: gntdev maps the grant at mmap() */
    void *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, (off_t)map.index);
    if (p == MAP_FAILED) printf("%u:%u refused %d\n", domid, ref, errno);
    else {
      printf("%u:%u mapped %08x\n", domid, ref, *(volatile uint32_t *)p);
      munmap(p, 4096);
    }
    struct ioctl_gntdev_unmap_grant_ref unmap = { .index = map.index, .count = 1 };
    ioctl(fd, IOCTL_GNTDEV_UNMAP_GRANT_REF, &unmap);
  }
  return 0;
}
