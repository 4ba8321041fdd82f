// Stand-ins for host programs the emulator cannot run. A user-mode emulator
// passes paths through to the host, so `/bin/sh` (as awk's system() and
// popen() run it) is the host's own, usually an x86-64 binary. When such a
// file names an applet of a busybox we know, that busybox runs in its place,
// as it would on an arm64 system whose /bin/sh is busybox.

export interface StandIn {
  path: string; // host path of the busybox binary
  applets: ReadonlySet<string>;
}

// busybox keeps its applet names as one sorted NUL-separated list starting
// "[", "[[" and ending with an empty name; null if `bytes` has none.
export function busyboxApplets(bytes: Uint8Array): Set<string> | null {
  const start = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).indexOf("[\0[[\0", 0, "latin1");
  if (start < 0) return null;
  const names = new Set<string>();
  let prev = "";
  for (let i = start; i < bytes.length;) {
    const end = bytes.indexOf(0, i);
    if (end < 0) return null;
    if (end === i) break;
    const name = Buffer.from(bytes.subarray(i, end)).toString("latin1");
    if (!/^[\w.[\]-]+$/.test(name) || name <= prev) return null;
    names.add(name);
    prev = name;
    i = end + 1;
  }
  return names.size >= 2 ? names : null;
}
