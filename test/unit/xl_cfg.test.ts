import { test } from "node:test";
import assert from "node:assert/strict";
import { parseXlCfg, domainSpec, CfgError, checkDomainSpec } from "../../src/tools/xl_cfg.js";

test("xl.cfg: strings, numbers, multi-line lists and comments", () => {
  const cfg = `# a guest
name = "web1"
memory = 512   # MiB
vcpus = 2
kernel = '/boot/vmlinuz'
disk = [ 'format=raw, vdev=xvda, access=rw, target=/srv/web1.img',
         "/srv/data.img,raw,xvdb,r" ]
vif = ['mac=00:16:3e:00:00:01, bridge=xenbr0']
extra = "console=hvc0"
root = "/dev/xvda1 ro"
on_crash = "preserve"
`;
  const { spec, warnings } = domainSpec(parseXlCfg(cfg, "web1.cfg"), "web1.cfg");
  assert.deepEqual(warnings, []);
  assert.equal(spec.name, "web1");
  assert.equal(spec.memory, 512);
  assert.equal(spec.maxmem, 512);
  assert.equal(spec.vcpus, 2);
  assert.equal(spec.disks.length, 2);
  assert.equal(spec.vifs[0], "mac=00:16:3e:00:00:01, bridge=xenbr0");
  assert.equal(spec.cmdline, "root=/dev/xvda1 ro console=hvc0");
  assert.equal(spec.onCrash, "preserve");
  assert.equal(spec.onReboot, "restart");
});

test("xl.cfg: errors name the file, line and column", () => {
  const bad: [string, RegExp][] = [
    ['name = "x"\nmemory = "lots"\n', /c\.cfg:2:1: 'memory' must be a whole number/],
    ['name = "x"\nfoo = 1\n', /c\.cfg:2:1: unknown key 'foo'/],
    ['name = "x"\nbuilder = "hvm"\n', /c\.cfg:2:1: 'builder' is not supported on Arm/],
    ['name = "x"\nkernel = "/boot/unterminated\n', /c\.cfg:2:10: unterminated string/],
    ['name = "x"\ndisk = [ "a" "b" ]\n', /c\.cfg:2:14: expected ',' or '\]'/],
    ['name = "x"\nvcpus = 1000\n', /vcpus' must be between 1 and 128/],
    ['memory = 64\n', /needs a name/],
    ['name = "x"\nvcpus 2\n', /c\.cfg:2:7: expected '=' after 'vcpus'/],
    ['name = "x"\ntype = "hvm"\n', /type "hvm" is not available on Arm/],
  ];
  for (const [text, re] of bad) {
    assert.throws(() => domainSpec(parseXlCfg(text, "c.cfg"), "c.cfg"), (e: unknown) => e instanceof CfgError && re.test(e.message), text);
  }
});

test("xl.cfg: passthrough keys (dtdev, iomem, irqs, device_tree) as xl.cfg(5) spells them, and what is wrong with them", () => {
  const cfg = `name = "storage"
dtdev = [ "/virtio_mmio@a000000" ]
iomem = [ "a000,1@a000", "0x2f000,2" ]
irqs = [ 48, 49 ]
device_tree = "/srv/pt.dtb"
`;
  const { spec } = domainSpec(parseXlCfg(cfg, "pt.cfg"), "pt.cfg");
  assert.deepEqual(spec.dtdev, ["/virtio_mmio@a000000"]);
  assert.deepEqual(spec.iomem, [{ mfn: 0xa000, pages: 1, gfn: 0xa000 }, { mfn: 0x2f000, pages: 2, gfn: 0x2f000 }], "without @GFN the mapping is 1:1");
  assert.deepEqual(spec.irqs, [48, 49]);
  assert.equal(spec.deviceTree, "/srv/pt.dtb");
  const sent = JSON.parse(JSON.stringify(spec)) as unknown;
  assert.deepEqual(checkDomainSpec(sent), sent, "the spec passes the host daemon's check");
  const bad: [string, RegExp][] = [
    ['name = "x"\niomem = [ "a000" ]\n', /c\.cfg:2:1: iomem "a000" is not "IOMEM_START,NUM_PAGES\[@GFN\]"/],
    ['name = "x"\niomem = [ "a000,0" ]\n', /iomem "a000,0"/],
    ['name = "x"\nirqs = [ 20 ]\n', /irqs must be a list of SPI numbers \(32 to 1019\)/],
    ['name = "x"\nirqs = 48\n', /irqs must be a list/],
    ['name = "x"\ndtdev = "/virtio_mmio@a000000"\n', /'dtdev' must be a list of strings/],
  ];
  for (const [text, re] of bad) {
    assert.throws(() => domainSpec(parseXlCfg(text, "c.cfg"), "c.cfg"), (e: unknown) => e instanceof CfgError && re.test(e.message), text);
  }
  const over = { ...spec, irqs: [5] };
  assert.throws(() => checkDomainSpec(over), /'irqs' is not a list of SPIs/);
  assert.throws(() => checkDomainSpec({ ...spec, iomem: [{ mfn: -1, pages: 1, gfn: 0 }] }), /'iomem' is not a list of page ranges/);
});
