// xl.cfg(5): the syntax (KEY = VALUE lines, "strings" or 'strings', numbers,
// [lists] across lines, # comments) and the keys xents understands, turned
// into a typed domain configuration. Errors carry file, line and column;
// keys that only mean something on x86 are refused or warned about, never
// silently misread.

export type CfgValue = string | number | CfgValue[];
export interface CfgEntry { key: string; value: CfgValue; line: number; col: number; }

export class CfgError extends Error {
  constructor(readonly file: string, readonly line: number, readonly col: number, msg: string) {
    super(`${file}:${line}:${col}: ${msg}`);
  }
}

export function parseXlCfg(text: string, file = "<config>"): CfgEntry[] {
  let i = 0, line = 1, col = 1;
  const err = (msg: string, l = line, c = col): never => { throw new CfgError(file, l, c, msg); };
  const peek = (): string => text[i] ?? "";
  const next = (): string => {
    const ch = text[i++] ?? "";
    if (ch === "\n") { line++; col = 1; } else col++;
    return ch;
  };
  const skipSpace = (newlines: boolean): void => {
    for (;;) {
      const c = peek();
      if (c === " " || c === "\t" || c === "\r" || (newlines && c === "\n")) next();
      else if (c === "#") { while (peek() && peek() !== "\n") next(); }
      else if (c === "\\" && text[i + 1] === "\n") { next(); next(); }
      else return;
    }
  };
  const value = (): CfgValue => {
    skipSpace(false);
    const l = line, c = col;
    const ch = peek();
    if (ch === '"' || ch === "'") {
      const q = next();
      let s = "";
      for (;;) {
        const d = next();
        if (d === "" || d === "\n") err("unterminated string", l, c);
        if (d === q) break;
        if (d === "\\") {
          const e = next();
          s += e === "n" ? "\n" : e === "t" ? "\t" : e;
        } else s += d;
      }
      return s;
    }
    if (ch === "[") {
      next();
      const list: CfgValue[] = [];
      for (;;) {
        skipSpace(true);
        if (peek() === "]") { next(); return list; }
        if (peek() === "") err("unterminated list", l, c);
        list.push(value());
        skipSpace(true);
        if (peek() === ",") { next(); continue; }
        if (peek() === "]") { next(); return list; }
        err(`expected ',' or ']' in list, found '${peek() || "end of file"}'`);
      }
    }
    const m = /^(0x[0-9a-fA-F]+|-?\d+(\.\d+)?)/.exec(text.slice(i));
    if (m) { for (let k = 0; k < m[0].length; k++) next(); return Number(m[0]); }
    return err(ch ? `unexpected '${ch}': values are "strings", numbers or [lists]` : "missing value");
  };
  const out: CfgEntry[] = [];
  for (;;) {
    skipSpace(true);
    if (peek() === "") break;
    if (peek() === ";") { next(); continue; }
    const l = line, c = col;
    const m = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(text.slice(i));
    if (!m) err(`expected a key, found '${peek()}'`);
    for (let k = 0; k < m![0].length; k++) next();
    skipSpace(false);
    if (peek() !== "=") err(`expected '=' after '${m![0]}'`);
    next();
    const v = value();
    out.push({ key: m![0], value: v, line: l, col: c });
    skipSpace(false);
    if (peek() === ";") next();
    skipSpace(false);
    if (peek() !== "" && peek() !== "\n") err(`unexpected '${peek()}' after the value of '${m![0]}'`);
  }
  return out;
}

export type Action = "destroy" | "restart" | "preserve" | "rename-restart" | "coredump-destroy" | "coredump-restart" | "soft-reset";

export interface DomainSpec {
  name: string;
  type: "pvh";
  memory: number; // MiB
  maxmem: number;
  vcpus: number;
  maxvcpus: number;
  cpus?: string;
  kernel?: string;
  ramdisk?: string;
  cmdline: string;
  disks: string[];
  vifs: string[];
  onPoweroff: Action;
  onReboot: Action;
  onCrash: Action;
  vuart: boolean;
  // Passthrough of device-tree devices (xl.cfg(5) "Devices" on Arm)
  dtdev?: string[]; // the devices' paths in the host's device tree
  iomem?: IomemRange[];
  irqs?: number[]; // SPIs, routed 1:1
  deviceTree?: string; // a partial device tree whose /passthrough (and /aliases) the guest gets
  driverDomain?: boolean; // xl.cfg's driver_domain: the domain runs backends (and libxl, as xl devd)
}

// iomem = ["IOMEM_START,NUM_PAGES[@GFN]"]: machine page numbers, all hexadecimal.
export interface IomemRange { mfn: number; pages: number; gfn: number; }
export function parseIomem(s: string): IomemRange | null {
  const m = /^(?:0x)?([0-9a-fA-F]{1,9}),(?:0x)?([0-9a-fA-F]{1,6})(?:@(?:0x)?([0-9a-fA-F]{1,9}))?$/.exec(s.trim());
  if (!m) return null;
  const mfn = Number.parseInt(m[1], 16), pages = Number.parseInt(m[2], 16);
  if (pages === 0) return null;
  return { mfn, pages, gfn: m[3] === undefined ? mfn : Number.parseInt(m[3], 16) };
}

const KEYS = new Set([
  "name", "memory", "maxmem", "vcpus", "maxvcpus", "cpus", "kernel", "ramdisk", "cmdline", "extra", "root", "disk",
  "vif", "on_poweroff", "on_reboot", "on_crash", "vuart", "type", "uuid", "seclabel", "dtdev", "iomem", "irqs", "device_tree", "driver_domain",
]);
const X86_ONLY = new Map<string, string>([
  ["builder", "the HVM/PV builder choice is x86-only; Arm guests are always type \"pvh\""],
  ["device_model_version", "there is no device model on Arm"], ["device_model_override", "there is no device model on Arm"],
  ["acpi", "ACPI tables are not provided to Arm guests by xents"], ["apic", "x86 only"], ["pae", "x86 only"],
  ["hap", "x86 only: Arm always uses stage-2 translation"], ["viridian", "x86 only"], ["serial", "x86 HVM only"],
  ["vga", "x86 HVM only"], ["vnc", "x86 HVM only"], ["sdl", "x86 HVM only"], ["boot", "x86 HVM only"],
  ["shadow_memory", "x86 only"], ["stdvga", "x86 HVM only"], ["usb", "x86 HVM only"], ["pci", "PCI passthrough is not supported"],
  ["bootloader", "pygrub and other bootloaders are not supported: give kernel= directly"],
]);
const ACTIONS = new Set(["destroy", "restart", "preserve", "rename-restart", "coredump-destroy", "coredump-restart", "soft-reset"]);

export interface ParsedConfig { spec: DomainSpec; warnings: string[]; }

// A DomainSpec that came over a socket (the CLI parsed the xl.cfg; the host
// trusts nothing it is sent): every field checked, or an error naming it.
export function checkDomainSpec(v: unknown): DomainSpec {
  const bad = (what: string): never => { throw new Error(`the domain configuration's ${what}`); };
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("the domain configuration is not an object");
  const o = v as Record<string, unknown>;
  const str = (k: string, optional = false): void => { if (!(optional && o[k] === undefined) && typeof o[k] !== "string") bad(`'${k}' is not a string`); };
  const int = (k: string, min: number, max: number): void => { const x = o[k]; if (typeof x !== "number" || !Number.isInteger(x) || x < min || x > max) bad(`'${k}' is not a whole number from ${min} to ${max}`); };
  const strings = (k: string): void => { const x = o[k]; if (!Array.isArray(x) || x.length > 64 || !x.every((e) => typeof e === "string")) bad(`'${k}' is not a list of strings`); };
  const action = (k: string): void => { if (typeof o[k] !== "string" || !ACTIONS.has(o[k] as string)) bad(`'${k}' is not an action`); };
  str("name"); if (!/^[A-Za-z0-9_.-]{1,64}$/.test(o.name as string)) bad("name is not 1 to 64 letters, digits, '.', '_' or '-'");
  if (o.type !== "pvh") bad("type is not \"pvh\"");
  int("memory", 1, 1 << 20); int("maxmem", 1, 1 << 20); int("vcpus", 1, 128); int("maxvcpus", 1, 128);
  str("cpus", true); str("kernel", true); str("ramdisk", true); str("cmdline");
  strings("disks"); strings("vifs");
  action("onPoweroff"); action("onReboot"); action("onCrash");
  if (typeof o.vuart !== "boolean") bad("'vuart' is not true or false");
  if (o.dtdev !== undefined) strings("dtdev");
  if (o.driverDomain !== undefined && typeof o.driverDomain !== "boolean") bad("'driverDomain' is not true or false");
  str("deviceTree", true);
  if (o.irqs !== undefined && (!Array.isArray(o.irqs) || o.irqs.length > 64 || !o.irqs.every((x) => Number.isInteger(x) && x >= 32 && x <= 1019))) bad("'irqs' is not a list of SPIs (32 to 1019)");
  if (o.iomem !== undefined && (!Array.isArray(o.iomem) || o.iomem.length > 64 || !o.iomem.every((r) => {
    const x = r as Record<string, unknown>;
    return typeof r === "object" && r !== null && [x.mfn, x.pages, x.gfn].every((n) => Number.isInteger(n) && (n as number) >= 0 && (n as number) < 2 ** 36) && (x.pages as number) > 0;
  }))) bad("'iomem' is not a list of page ranges");
  return o as unknown as DomainSpec;
}

export function domainSpec(entries: CfgEntry[], file = "<config>"): ParsedConfig {
  const warnings: string[] = [];
  const seen = new Map<string, CfgEntry>();
  for (const e of entries) {
    if (X86_ONLY.has(e.key)) throw new CfgError(file, e.line, e.col, `'${e.key}' is not supported on Arm: ${X86_ONLY.get(e.key)}`);
    if (!KEYS.has(e.key)) throw new CfgError(file, e.line, e.col, `unknown key '${e.key}'`);
    seen.set(e.key, e); // the last assignment wins, as in xl
  }
  const e = (k: string): CfgEntry | undefined => seen.get(k);
  const str = (k: string): string | undefined => {
    const v = e(k);
    if (!v) return undefined;
    if (typeof v.value !== "string") throw new CfgError(file, v.line, v.col, `'${k}' must be a string`);
    return v.value;
  };
  const int = (k: string, min: number, max: number): number | undefined => {
    const v = e(k);
    if (!v) return undefined;
    const n = typeof v.value === "string" && /^\d+$/.test(v.value) ? Number(v.value) : v.value;
    if (typeof n !== "number" || !Number.isInteger(n)) throw new CfgError(file, v.line, v.col, `'${k}' must be a whole number`);
    if (n < min || n > max) throw new CfgError(file, v.line, v.col, `'${k}' must be between ${min} and ${max}`);
    return n;
  };
  const list = (k: string): string[] => {
    const v = e(k);
    if (!v) return [];
    if (!Array.isArray(v.value) || v.value.some((x) => typeof x !== "string")) throw new CfgError(file, v.line, v.col, `'${k}' must be a list of strings`);
    return v.value as string[];
  };
  const action = (k: string, def: Action): Action => {
    const s = str(k);
    if (s === undefined) return def;
    if (!ACTIONS.has(s)) throw new CfgError(file, e(k)!.line, e(k)!.col, `'${k}' must be one of ${[...ACTIONS].join(", ")}`);
    if (s !== "destroy" && s !== "restart" && s !== "preserve") warnings.push(`${k}=${s}: treated as ${s.endsWith("restart") ? "restart" : "destroy"}`);
    return s as Action;
  };
  const name = str("name");
  if (!name) throw new CfgError(file, 1, 1, "the domain needs a name (name = \"...\")");
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) throw new CfgError(file, e("name")!.line, e("name")!.col, "name may only use letters, digits, '_', '-' and '.' (at most 64)");
  const type = str("type") ?? "pvh";
  if (type !== "pvh") throw new CfgError(file, e("type")!.line, e("type")!.col, `type "${type}" is not available on Arm: use "pvh"`);
  const memory = int("memory", 16, 1024 * 1024) ?? 128;
  const maxmem = int("maxmem", memory, 1024 * 1024) ?? memory;
  const vcpus = int("vcpus", 1, 128) ?? 1;
  const maxvcpus = int("maxvcpus", vcpus, 128) ?? vcpus;
  let cmdline = str("cmdline") ?? "";
  const extra = str("extra"), root = str("root");
  if (!e("cmdline")) cmdline = [root ? `root=${root}` : "", extra ?? ""].filter(Boolean).join(" ");
  const vu = e("vuart");
  const vuart = vu !== undefined && (vu.value === "sbsa_uart" || (() => { throw new CfgError(file, vu.line, vu.col, "vuart must be \"sbsa_uart\""); })());
  if (seen.has("uuid")) warnings.push("uuid is chosen by xents; the given one is ignored");
  const iomem = list("iomem").map((s) => {
    const r = parseIomem(s);
    if (!r) throw new CfgError(file, e("iomem")!.line, e("iomem")!.col, `iomem "${s}" is not "IOMEM_START,NUM_PAGES[@GFN]" (hexadecimal page numbers)`);
    return r;
  });
  const irqsEntry = e("irqs");
  const irqs = irqsEntry === undefined ? [] : (() => {
    const v = irqsEntry.value;
    const nums = Array.isArray(v) ? v.map((x) => (typeof x === "string" && /^\d+$/.test(x) ? Number(x) : x)) : null;
    if (!nums || !nums.every((x) => typeof x === "number" && Number.isInteger(x) && x >= 32 && x <= 1019)) throw new CfgError(file, irqsEntry.line, irqsEntry.col, "irqs must be a list of SPI numbers (32 to 1019)");
    return nums as number[];
  })();
  const passthrough = { dtdev: list("dtdev"), iomem, irqs, deviceTree: str("device_tree") };
  if (seen.has("seclabel")) warnings.push("seclabel is ignored: there is no XSM policy to apply it to");
  const driverDomain = int("driver_domain", 0, 1);
  return {
    spec: {
      name, type: "pvh", memory, maxmem, vcpus, maxvcpus, cpus: str("cpus"), kernel: str("kernel"), ramdisk: str("ramdisk"),
      cmdline, disks: list("disk"), vifs: list("vif"), onPoweroff: action("on_poweroff", "destroy"),
      onReboot: action("on_reboot", "restart"), onCrash: action("on_crash", "destroy"), vuart, ...passthrough,
      ...(driverDomain === undefined ? {} : { driverDomain: driverDomain === 1 }),
    },
    warnings,
  };
}
