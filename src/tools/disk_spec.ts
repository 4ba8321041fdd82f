// xl-disk-configuration(5): `disk = ['format=raw, vdev=xvda, access=rw, target=/path/disk.img']`
// or the positional form `'/path/disk.img,raw,xvda,rw'`; and the Xen virtual
// block device number a vdev name stands for (docs/misc/vbd-interface.txt).

import { backendDomain } from "./backend_domain.js";

export type DiskFormat = "raw" | "qcow2";

export interface DiskSpec {
  target: string;
  format: DiskFormat;
  vdev: string;
  devid: number; // the xenstore device id ("virtual-device")
  readonly: boolean;
  devtype: "disk" | "cdrom";
  discard: boolean;
  // the domain serving it (xl.cfg's backend=, a name or id) when that is not
  // Domain-0: a driver domain, where target is a path (its /dev/vda, say)
  backend?: string;
}

export class DiskSpecError extends Error {}

const POSITIONAL = ["target", "format", "vdev", "access"] as const;

export function parseDiskSpec(spec: string): DiskSpec {
  const kv: Record<string, string> = {};
  let pos = 0;
  let discard = true;
  let rest = spec.trim();
  while (rest.length) {
    // target= takes everything after it, commas included (it must come last)
    const t = /^target\s*=\s*/.exec(rest);
    if (t) { kv.target = rest.slice(t[0].length).trim(); break; }
    const comma = rest.indexOf(",");
    const tok = (comma < 0 ? rest : rest.slice(0, comma)).trim();
    rest = comma < 0 ? "" : rest.slice(comma + 1).trim();
    if (!tok) continue;
    const eq = tok.indexOf("=");
    if (eq >= 0) {
      const k = tok.slice(0, eq).trim(), v = tok.slice(eq + 1).trim();
      if (!["format", "vdev", "access", "devtype", "backendtype", "backend", "script", "direct-io-safe", "specification"].includes(k)) {
        throw new DiskSpecError(`unknown disk parameter '${k}' in '${spec}'`);
      }
      kv[k] = v;
    } else if (tok === "discard" || tok === "no-discard") {
      discard = tok === "discard";
    } else if (tok === "cdrom") {
      kv.devtype = "cdrom";
    } else {
      if (pos >= POSITIONAL.length) throw new DiskSpecError(`too many positional parameters in '${spec}'`);
      kv[POSITIONAL[pos++]] = tok;
    }
  }
  if (!kv.target) throw new DiskSpecError(`disk '${spec}' has no target`);
  if (!kv.vdev) throw new DiskSpecError(`disk '${spec}' has no vdev`);
  const fmt = (kv.format ?? "raw").toLowerCase();
  if (fmt !== "raw" && fmt !== "qcow2") throw new DiskSpecError(`disk format '${kv.format}' is not supported (raw or qcow2)`);
  const access = (kv.access ?? "rw").toLowerCase();
  if (!["r", "ro", "w", "rw"].includes(access)) throw new DiskSpecError(`disk access '${kv.access}' must be r, ro, w or rw`);
  if (kv.backendtype && kv.backendtype !== "phy") throw new DiskSpecError(`backendtype '${kv.backendtype}' is not offered (this host's blkback is 'phy')`);
  const backend = backendDomain(kv.backend, spec, DiskSpecError);
  if (kv.script) throw new DiskSpecError("block hotplug scripts are not supported: name the image file as target (a driver domain runs its own block script)");
  const devtype = (kv.devtype ?? "disk") as string;
  if (devtype !== "disk" && devtype !== "cdrom") throw new DiskSpecError(`devtype '${devtype}' must be disk or cdrom`);
  if (backend !== undefined && fmt !== "raw") throw new DiskSpecError(`disk '${spec}': a driver domain's blkback serves raw devices only, not ${fmt}`);
  return {
    target: kv.target, format: fmt, vdev: kv.vdev, devid: vdevNumber(kv.vdev), readonly: access === "r" || access === "ro" || devtype === "cdrom", devtype, discard,
    ...(backend === undefined ? {} : { backend }),
  };
}


// xvd<letters>[<partition>]: disks 0..15 with partitions 0..15 use the
// compact form 202<<8 | disk<<4 | part; others the extended form
// 1<<28 | disk<<8 | part.
export function vdevNumber(vdev: string): number {
  const m = /^xvd([a-z]+)(\d*)$/.exec(vdev);
  if (!m) throw new DiskSpecError(`vdev '${vdev}' is not an xvd name (xvda, xvdb1, ...)`);
  let disk = 0;
  for (const ch of m[1]) disk = disk * 26 + (ch.charCodeAt(0) - 96);
  disk -= 1;
  const part = m[2] ? Number(m[2]) : 0;
  if (disk < 16 && part < 16) return (202 << 8) | (disk << 4) | part;
  if (disk >= 1 << 20 || part >= 256) throw new DiskSpecError(`vdev '${vdev}' is out of range`);
  return (1 << 28) | (disk << 8) | part;
}
