/* Shuts an ext4 file system down as if its disk had gone away
 * (EXT4_IOC_SHUTDOWN, the ioctl xfs_io's "shutdown" uses; needs root):
 * from then on every read, write and fsync on it fails with EIO.
 *   ext4_shutdown <any path on the file system> */
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <linux/types.h>

#define EXT4_IOC_SHUTDOWN _IOR('X', 125, __u32)
#define EXT4_GOING_FLAGS_NOLOGFLUSH 0x2

int main(int argc, char **argv) {
  if (argc != 2) { fprintf(stderr, "usage: %s path\n", argv[0]); return 2; }
  int fd = open(argv[1], O_RDONLY);
  if (fd < 0) { perror(argv[1]); return 1; }
  __u32 how = EXT4_GOING_FLAGS_NOLOGFLUSH;
  if (ioctl(fd, EXT4_IOC_SHUTDOWN, &how)) { perror("EXT4_IOC_SHUTDOWN"); return 1; }
  return 0;
}
