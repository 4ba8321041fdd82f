import { test } from "node:test";
import assert from "node:assert/strict";
import { parseXlCfg, domainSpec, CfgError } from "../../src/tools/xl_cfg.js";

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
