// NICs the machine has for a domain other than Domain-0 to be given
// (`--assignable-nic IFNAME`): virtio-net devices added to the machine and
// left unowned, each cabled to a wire of its own that the host TAP device
// IFNAME joins once the host can wait for it. A network driver domain given
// one reaches the host's network through it; Domain-0 has no way onto that
// wire. Named pt-eth0, pt-eth1, ...
import type { Hypervisor } from "../xen/hypervisor.js";
import { VirtioNet } from "../hw/virtio_net.js";
import { Bridge } from "../tools/net/bridge.js";
import { TapPort } from "../tools/net/tap_port.js";
import { NicPort } from "./nic_port.js";

export interface AssignableNic { nic: VirtioNet; wire: Bridge; ifname: string }

export function addAssignableNics(hv: Hypervisor, ifnames: string[]): AssignableNic[] {
  return ifnames.map((ifname, i) => {
    const name = `pt-eth${i}`;
    // locally administered, "xnts", one apart from the machine's own NIC (…:01)
    const nic = new VirtioNet(name, new Uint8Array([0x02, 0x78, 0x6e, 0x74, 0x73, 0x10 + i]));
    const m = hv.devices.add(nic);
    const wire = new Bridge(`pt-wire${i}`);
    new NicPort(nic, wire);
    hv.log(`${name}: cabled to host TAP ${ifname}, assignable as ${m.path} (iomem ${m.mfn.toString(16)},1, irq ${m.irq})`);
    return { nic, wire, ifname };
  });
}

// Each NIC's wire joined to its host TAP device (created if missing).
export async function cableAssignableNics(nics: AssignableNic[], log: (l: string) => void): Promise<TapPort[]> {
  const taps: TapPort[] = [];
  try {
    for (const n of nics) taps.push(await TapPort.open(n.wire, n.ifname, log));
  } catch (e) {
    for (const t of taps) t.close();
    throw e;
  }
  return taps;
}
