// The kinds of split device the toolstack creates, as libxl's device
// types describe them: the xenstore nodes of each end, for one table-driven
// way to add a device (Toolstack.addDevice) instead of a copy per kind. A
// new kind is a row here and a backend driver.

import { XenbusState } from "../xen/public/io/xenbus.js";
import type { DiskSpec } from "./disk_spec.js";
import type { VifSpec } from "./vif_spec.js";

export type DeviceKindName = "vbd" | "vif";

export interface DeviceKind<S> {
  readonly name: DeviceKindName;
  readonly noun: string; // for messages: "disk", "vif"
  describe(spec: S, devid: number): string; // "xvda", "0"
  // nodes of the backend directory, after frontend, frontend-id and online
  backendNodes(spec: S, devid: number): [string, string][];
  // nodes of the frontend directory, after backend and backend-id
  frontendNodes(spec: S, devid: number): [string, string][];
  // nodes of the frontend directory that the backend's domain owns and the
  // guest only reads (libxl's ro_front): the vif's mtu, which vif-bridge
  // in a driver domain writes
  readonlyFrontendNodes?(spec: S, devid: number): [string, string][];
}

const INITIALISING = String(XenbusState.Initialising);

// A backend in a driver domain is set up by that domain's own hotplug
// handling (xl devd runs the script libxl names in the backend directory);
// xents' Domain-0 backends need none.
const SCRIPTS = "/etc/xen/scripts";
const script = (backend: string | undefined, name: string): [string, string][] => (backend === undefined ? [] : [["script", `${SCRIPTS}/${name}`]]);

export const VBD: DeviceKind<DiskSpec> = {
  name: "vbd", noun: "disk",
  describe: (d) => d.vdev,
  backendNodes: (d) => [["removable", "0"], ["bootable", "1"], ["dev", d.vdev], ["type", "phy"], ["mode", d.readonly ? "r" : "w"],
    ["device-type", d.devtype], ["params", d.target], ["format", d.format], ["discard-enable", d.discard ? "1" : "0"], ...script(d.backend, "block"), ["state", INITIALISING]],
  frontendNodes: (d) => [["virtual-device", String(d.devid)], ["device-type", d.devtype], ["state", INITIALISING]],
};

export const VIF: DeviceKind<VifSpec> = {
  name: "vif", noun: "vif",
  describe: (_v, handle) => String(handle),
  backendNodes: (v, handle) => [["handle", String(handle)], ["mac", v.mac], ["bridge", v.bridge], ["type", "vif"], ...script(v.backend, "vif-bridge"), ["state", INITIALISING]],
  frontendNodes: (v, handle) => [["handle", String(handle)], ["mac", v.mac], ["state", INITIALISING]],
  readonlyFrontendNodes: () => [["mtu", "1500"]],
};
