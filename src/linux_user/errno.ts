// Linux errno values (include/uapi/asm-generic/errno-base.h and errno.h,
// which arm64 uses) and the translation of host file system errors into them.

export const EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, ENXIO = 6, E2BIG = 7, ENOEXEC = 8, EBADF = 9,
  ECHILD = 10, EAGAIN = 11, ENOMEM = 12, EACCES = 13, EFAULT = 14, EBUSY = 16, EEXIST = 17, EXDEV = 18,
  ENODEV = 19, ENOTDIR = 20, EISDIR = 21, EINVAL = 22, ENFILE = 23, EMFILE = 24, ENOTTY = 25, ETXTBSY = 26,
  EFBIG = 27, ENOSPC = 28, ESPIPE = 29, EROFS = 30, EMLINK = 31, EPIPE = 32, ERANGE = 34, EDEADLK = 35,
  ENAMETOOLONG = 36, ENOSYS = 38, ENOTEMPTY = 39, ELOOP = 40, ENODATA = 61, EOVERFLOW = 75, ENOTSUP = 95,
  EOPNOTSUPP = 95, ETIMEDOUT = 110;

// Node reports host errors by name (err.code); names are portable, numbers are not.
const BY_NAME: Record<string, number> = {
  EPERM, ENOENT, ESRCH, EINTR, EIO, ENXIO, E2BIG, ENOEXEC, EBADF, ECHILD, EAGAIN, ENOMEM, EACCES, EFAULT,
  EBUSY, EEXIST, EXDEV, ENODEV, ENOTDIR, EISDIR, EINVAL, ENFILE, EMFILE, ENOTTY, ETXTBSY, EFBIG, ENOSPC,
  ESPIPE, EROFS, EMLINK, EPIPE, ERANGE, EDEADLK, ENAMETOOLONG, ENOSYS, ENOTEMPTY, ELOOP, ENODATA, EOVERFLOW,
  ENOTSUP, EOPNOTSUPP, ETIMEDOUT, EWOULDBLOCK: EAGAIN,
};

// The errno of a host exception from node:fs, or EIO for anything unexpected.
export function hostErrno(e: unknown): number {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === "string" && code in BY_NAME) return BY_NAME[code];
  return EIO;
}

// True for a thrown node:fs error (as opposed to a bug in the emulator).
export function isHostError(e: unknown): boolean {
  return e instanceof Error && typeof (e as { code?: unknown }).code === "string" && typeof (e as { syscall?: unknown }).syscall === "string";
}
