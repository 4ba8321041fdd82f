// xl-network-configuration(5): `vif = ['mac=00:16:3e:01:02:03, bridge=xenbr0']`.

import { randomBytes } from "node:crypto";

import { backendDomain } from "./backend_domain.js";

// backend: the driver domain serving it (a name or id), when not Domain-0
export interface VifSpec { mac: string; bridge: string; backend?: string; }

export class VifSpecError extends Error {}

export function parseVifSpec(spec: string): VifSpec {
  let mac: string | undefined, bridge = "xenbr0", backend: string | undefined;
  for (const part of spec.split(",").map((x) => x.trim()).filter(Boolean)) {
    const eq = part.indexOf("=");
    if (eq < 0) throw new VifSpecError(`'${part}' in vif '${spec}' is not key=value`);
    const k = part.slice(0, eq).trim(), v = part.slice(eq + 1).trim();
    if (k === "mac") {
      if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(v)) throw new VifSpecError(`bad MAC address '${v}'`);
      if (parseInt(v.slice(0, 2), 16) & 1) throw new VifSpecError(`MAC address '${v}' is a multicast address`);
      mac = v.toLowerCase();
    } else if (k === "bridge") {
      if (!/^[A-Za-z0-9_.-]{1,15}$/.test(v)) throw new VifSpecError(`bad bridge name '${v}'`);
      bridge = v;
    } else if (k === "type" || k === "model") {
      if (v !== "vif" && v !== "netfront") throw new VifSpecError(`vif ${k} '${v}' is not offered (PV vifs only)`);
    } else if (k === "backend") {
      backend = backendDomain(v, spec, VifSpecError);
    } else if (k === "script") {
      throw new VifSpecError("vif hotplug scripts are not supported: name the bridge with bridge=");
    } else if (k === "ip" || k === "vifname" || k === "rate") {
      // accepted; the guest configures its own addresses
    } else throw new VifSpecError(`unknown vif parameter '${k}'`);
  }
  // Xen's OUI 00:16:3e with random low bytes, as xl picks one
  mac ??= `00:16:3e:${[...randomBytes(3)].map((b, i) => (i === 0 ? b & 0x7F : b).toString(16).padStart(2, "0")).join(":")}`;
  return backend === undefined ? { mac, bridge } : { mac, bridge, backend };
}
