// The host daemon's commands, declared once for the daemon and its client:
// each command's arguments as a schema (valibot's, as the domain context's:
// the schema is the type and the check) and what it answers. The control
// server checks a request's arguments against its command's schema before
// any handler sees them, so handlers take typed arguments and a malformed
// request gets the argument's name and what is wrong with it; the client's
// call() is typed by the same table. Both kinds of daemon (TypeScript and
// Linux Domain-0) answer these commands.

import * as v from "valibot";
import type { EvtchnStatus } from "../xc/xc.js";
import type { DiskInfo } from "../guest.js";
import type { MigrateProgress, MigrateResult } from "../migration.js";
import type { MachineDeviceInfo } from "../cmd_demo.js";
import type { RemusPrimaryStatus } from "../remus/primary.js";
import type { RemusBackupStatus } from "../remus/backup.js";

const DOMAIN = v.union([v.pipe(v.string(), v.minLength(1)), v.pipe(v.number(), v.integer())], "must name a domain (its name or id)");
const TEXT = v.pipe(v.string("must be given as text"), v.minLength(1, "must be given as text"));
const NUMBER = v.number("must be a number");
const FLAG = v.optional(v.boolean("must be true or false"));
const DEVICE = v.union([TEXT, v.pipe(NUMBER, v.integer())], "must name a device");
const none = v.object({});
const onDomain = v.object({ domain: DOMAIN });

export const COMMANDS = {
  status: none,
  list: none,
  lsevtchn: v.object({ domain: v.optional(DOMAIN) }),
  create: v.object({ spec: v.unknown(), paused: FLAG }), // the spec is checked whole by checkDomainSpec (xl_cfg.ts)
  destroy: onDomain,
  shutdown: v.object({ domain: DOMAIN, reboot: FLAG, wait: FLAG, timeout: v.optional(v.pipe(NUMBER, v.minValue(0), v.maxValue(86400))) }),
  pause: onDomain,
  unpause: onDomain,
  console: onDomain,
  info: none,
  dmesg: v.object({ clear: FLAG }),
  uptime: none,
  "vcpu-list": v.object({ domain: v.optional(DOMAIN) }),
  "vcpu-set": v.object({ domain: DOMAIN, count: NUMBER }),
  "vcpu-pin": v.object({ domain: DOMAIN, vcpu: v.optional(v.union([v.string(), v.number()])), cpus: v.union([v.string(), v.number()], "must name CPUs") }),
  "mem-set": v.object({ domain: DOMAIN, mib: NUMBER }),
  "mem-max": v.object({ domain: DOMAIN, mib: NUMBER }),
  rename: v.object({ domain: DOMAIN, name: TEXT }),
  domid: v.object({ name: TEXT }),
  domname: v.object({ domid: v.pipe(NUMBER, v.integer("must be a whole number")) }),
  "sched-credit2": v.object({ domain: v.optional(DOMAIN), weight: v.optional(NUMBER), cap: v.optional(NUMBER) }),
  "block-attach": v.object({ domain: DOMAIN, spec: TEXT }),
  "block-detach": v.object({ domain: DOMAIN, device: DEVICE, force: FLAG }),
  "block-list": onDomain,
  "network-attach": v.object({ domain: DOMAIN, spec: v.optional(v.string("must be given as text")) }),
  "network-detach": v.object({ domain: DOMAIN, device: DEVICE, force: FLAG }),
  "network-list": onDomain,
  "tap-attach": v.object({ bridge: TEXT, ifname: TEXT }),
  "tap-detach": v.object({ ifname: TEXT }),
  "bridge-list": none,
  "device-list": none,
  migrate: v.object({ domain: DOMAIN, host: TEXT, port: v.pipe(NUMBER, v.integer("must be a whole number"), v.minValue(1), v.maxValue(65535)), live: FLAG, keyFile: v.optional(TEXT) }),
  "migrate-status": none,
  remus: v.object({
    domain: DOMAIN, host: TEXT, port: v.pipe(NUMBER, v.integer("must be a whole number"), v.minValue(1), v.maxValue(65535)),
    intervalMs: v.optional(v.pipe(NUMBER, v.integer("must be a whole number"), v.minValue(1, "must be at least 1 ms"), v.maxValue(60_000, "must be at most 60000 ms"))),
    timeoutMs: v.optional(v.pipe(NUMBER, v.integer("must be a whole number"), v.minValue(10, "must be at least 10 ms"), v.maxValue(600_000, "must be at most 600000 ms"))),
    netBuffer: FLAG, disk: FLAG, unsafeFailover: FLAG, arbiter: v.optional(TEXT), keyFile: v.optional(TEXT),
  }),
  "remus-status": none,
  "remus-stop": onDomain,
  "remus-switch": onDomain,
  "remus-takeover": onDomain,
  save: v.object({ domain: DOMAIN, file: TEXT, keepRunning: FLAG }),
  restore: v.object({ file: TEXT, paused: FLAG }),
  stop: none,
} as const;

export type CommandName = keyof typeof COMMANDS;
export type Args<K extends CommandName> = v.InferOutput<(typeof COMMANDS)[K]>;
export type ArgsIn<K extends CommandName> = v.InferInput<(typeof COMMANDS)[K]>;
export const COMMAND_NAMES = Object.keys(COMMANDS) as CommandName[];

export interface DomainRow { name: string; id: number; mem: number; vcpus: number; state: string; time: number }
export interface VcpuRow { name: string; id: number; vcpu: number; cpu: number; state: string; time: number; affinity: string }
export interface BridgeRow { name: string; ports: string[]; frames: number; flooded: number; dropped: number }
export interface VifRow { handle: number; mac: string; bridge: string; backendId: number; beState: number; feState: number }

// What each command answers. status and info are shown as they come (their
// fields differ between the two kinds of Domain-0).
export interface Results {
  status: Record<string, unknown>;
  list: DomainRow[];
  lsevtchn: EvtchnStatus[];
  create: { domid: number; name: string };
  destroy: null; shutdown: null; pause: null; unpause: null; console: null;
  info: Record<string, unknown>;
  dmesg: string;
  uptime: { name: string; id: number; uptime_s: number }[];
  "vcpu-list": VcpuRow[];
  "vcpu-set": null; "vcpu-pin": null; "mem-set": null; "mem-max": null; rename: null;
  domid: number;
  domname: string;
  "sched-credit2": { name: string; id: number; weight: number; cap: number }[];
  "block-attach": null; "block-detach": null;
  "block-list": DiskInfo[];
  "network-attach": { handle: number; mac: string };
  "network-detach": null;
  "network-list": VifRow[];
  "tap-attach": { bridge: string; ifname: string };
  "tap-detach": null;
  "bridge-list": BridgeRow[];
  "device-list": MachineDeviceInfo[];
  migrate: MigrateResult;
  "migrate-status": MigrateProgress | null;
  remus: RemusPrimaryStatus;
  "remus-status": (RemusPrimaryStatus | RemusBackupStatus)[];
  "remus-stop": null;
  "remus-switch": { domid: number; backup: string };
  "remus-takeover": { domid: number; name: string };
  save: { pages: number };
  restore: { domid: number; name: string };
  stop: null;
}

// A request's arguments checked against its command's schema: the typed
// arguments, or the message naming the first one that is wrong. A missing
// argument gets its own schema's message ("'file' must be given as text").
export function checkArgs<K extends CommandName>(cmd: K, args: Record<string, unknown>): { ok: true; args: Args<K> } | { ok: false; error: string } {
  const r = checkObject(COMMANDS[cmd] as v.ObjectSchema<v.ObjectEntries, undefined>, args);
  if (r.ok) return { ok: true, args: r.output as Args<K> };
  return { ok: false, error: `${cmd}: '${r.key ?? "args"}' ${r.message}` };
}

// A value checked against an object schema, a key left out checked as
// undefined (so that its own schema's message says what it must be): the
// output, or the first wrong key (null: the value itself) and the message.
// The control socket's arguments and the HTTP API's bodies are checked so.
export function checkObject(schema: v.ObjectSchema<v.ObjectEntries, undefined>, value: unknown): { ok: true; output: unknown } | { ok: false; key: string | null; message: string } {
  const input = typeof value === "object" && value !== null && !Array.isArray(value)
    ? { ...Object.fromEntries(Object.keys(schema.entries).map((k) => [k, undefined])), ...value }
    : value;
  const r = v.safeParse(schema, input);
  if (r.success) return { ok: true, output: r.output };
  const i = r.issues[0];
  return { ok: false, key: v.getDotPath(i), message: i.message };
}

export function isCommand(cmd: string): cmd is CommandName { return Object.hasOwn(COMMANDS, cmd); }
