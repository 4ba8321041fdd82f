// Disks the machine has for a domain other than Domain-0 to be given
// (`--assignable-disk`): virtio-blk devices added to the machine and left
// unowned, so that xl.cfg's dtdev/iomem/irqs can pass one through to a
// guest (a driver domain). Named pt-vda, pt-vdb, …
import type { Hypervisor } from "../xen/hypervisor.js";
import { VirtioBlk } from "../hw/virtio_blk.js";
import { openDiskImage } from "../tools/backends/blkback.js";
import type { DiskImage } from "../tools/backends/raw_image.js";
import type { MachineDisk } from "../tools/linux_dom0_options.js";

export function addAssignableDisks(hv: Hypervisor, disks: MachineDisk[]): DiskImage[] {
  const images: DiskImage[] = [];
  try {
    disks.forEach((disk, i) => {
      const img = openDiskImage(disk.path, disk.format, disk.readonly);
      images.push(img);
      const name = `pt-vd${String.fromCharCode(97 + i)}`;
      const m = hv.devices.add(new VirtioBlk(name, img, `xents-${name}`));
      hv.log(`${name}: ${disk.path} is assignable as ${m.path} (iomem ${m.mfn.toString(16)},1, irq ${m.irq})`);
    });
  } catch (e) {
    for (const img of images) img.close();
    throw e;
  }
  return images;
}
