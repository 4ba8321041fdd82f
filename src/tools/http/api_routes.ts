// The HTTP API's routes (version 1), declared once for the server and its
// OpenAPI document: each is one of the daemon's commands (commands.ts), run
// by the same handlers as the control socket's (no second implementation),
// with its arguments formed from the path and the JSON body. A body has its
// own schema (valibot, as the commands'), checked before the command's.

import * as v from "valibot";
import type { CommandName } from "../daemon/commands.js";
import { parseXlCfg, domainSpec } from "../xl_cfg.js";

export type Method = "GET" | "POST" | "PUT" | "DELETE";

export interface ApiRoute {
  method: Method;
  path: string; // with :params (fastify's form)
  summary: string;
  command: CommandName;
  body?: v.ObjectSchema<v.ObjectEntries, undefined>; // the JSON body, if the route takes one
  status?: number; // on success (200 if not given)
  // a command that tells how this one is going: with Accept: text/event-stream
  // the answer is a stream of "progress" events, then "done" or "error"
  progress?: CommandName;
  // the command's arguments from the path's parameters and the checked body
  args(params: Record<string, string>, body: Record<string, unknown>): Record<string, unknown>;
}

const TEXT = v.pipe(v.string("must be given as text"), v.minLength(1, "must be given as text"));
const FLAG = v.optional(v.boolean("must be true or false"));
const MAX_CONFIG = 64 << 10;

// A domain is named in the path by its name or its id, as xl takes it.
const domain = (p: Record<string, string>): string | number => (/^\d+$/.test(p.domain) ? Number(p.domain) : p.domain);

// The body of POST /domains: an xl.cfg text, parsed here as `xl create` parses a file.
export class ConfigError extends Error {}
function specOf(config: string): unknown {
  try { return domainSpec(parseXlCfg(config, "<request>"), "<request>").spec; } catch (e) { throw new ConfigError((e as Error).message); }
}

export const API_ROUTES: ApiRoute[] = [
  { method: "GET", path: "/api/v1/host", summary: "the host's status and accounting", command: "status", args: () => ({}) },
  { method: "GET", path: "/api/v1/host/info", summary: "the host as `xl info` shows it", command: "info", args: () => ({}) },
  { method: "GET", path: "/api/v1/domains", summary: "every domain: state, memory, vCPUs, CPU time", command: "list", args: () => ({}) },
  {
    method: "POST", path: "/api/v1/domains", summary: "create a domain from an xl.cfg text", command: "create", status: 201,
    body: v.object({ config: v.pipe(v.string("must be the xl.cfg text"), v.minLength(1, "must be the xl.cfg text"), v.maxLength(MAX_CONFIG, `must be at most ${MAX_CONFIG} bytes`)), paused: FLAG }),
    args: (_p, b) => ({ spec: specOf(String(b.config)), paused: b.paused === true }),
  },
  { method: "DELETE", path: "/api/v1/domains/:domain", summary: "destroy a domain at once", command: "destroy", args: (p) => ({ domain: domain(p) }) },
  { method: "POST", path: "/api/v1/domains/:domain/shutdown", summary: "ask a domain to shut down", command: "shutdown", args: (p) => ({ domain: domain(p) }) },
  { method: "POST", path: "/api/v1/domains/:domain/reboot", summary: "ask a domain to reboot", command: "shutdown", args: (p) => ({ domain: domain(p), reboot: true }) },
  { method: "POST", path: "/api/v1/domains/:domain/pause", summary: "pause a domain", command: "pause", args: (p) => ({ domain: domain(p) }) },
  { method: "POST", path: "/api/v1/domains/:domain/unpause", summary: "unpause a domain", command: "unpause", args: (p) => ({ domain: domain(p) }) },
  {
    method: "PUT", path: "/api/v1/domains/:domain/memory", summary: "set a domain's memory target (the balloon), in MiB", command: "mem-set",
    body: v.object({ mib: v.pipe(v.number("must be a number of MiB"), v.integer("must be a whole number of MiB"), v.minValue(1, "must be at least 1 MiB")) }),
    args: (p, b) => ({ domain: domain(p), mib: b.mib }),
  },
  {
    method: "PUT", path: "/api/v1/domains/:domain/vcpus", summary: "set the number of a domain's online vCPUs", command: "vcpu-set",
    body: v.object({ count: v.pipe(v.number("must be a number"), v.integer("must be a whole number"), v.minValue(1, "must be at least 1")) }),
    args: (p, b) => ({ domain: domain(p), count: b.count }),
  },
  { method: "GET", path: "/api/v1/domains/:domain/vcpus", summary: "a domain's vCPUs", command: "vcpu-list", args: (p) => ({ domain: domain(p) }) },
  { method: "GET", path: "/api/v1/domains/:domain/disks", summary: "a domain's disks", command: "block-list", args: (p) => ({ domain: domain(p) }) },
  {
    method: "POST", path: "/api/v1/domains/:domain/disks", summary: "attach a disk (an xl disk spec)", command: "block-attach", status: 201,
    body: v.object({ spec: TEXT }), args: (p, b) => ({ domain: domain(p), spec: b.spec }),
  },
  { method: "DELETE", path: "/api/v1/domains/:domain/disks/:device", summary: "detach a disk (by vdev or device number)", command: "block-detach", args: (p) => ({ domain: domain(p), device: p.device }) },
  { method: "GET", path: "/api/v1/domains/:domain/vifs", summary: "a domain's network interfaces", command: "network-list", args: (p) => ({ domain: domain(p) }) },
  {
    method: "POST", path: "/api/v1/domains/:domain/vifs", summary: "attach a network interface (an xl vif spec)", command: "network-attach", status: 201,
    body: v.object({ spec: v.optional(v.string("must be given as text")) }), args: (p, b) => ({ domain: domain(p), spec: b.spec ?? "" }),
  },
  { method: "DELETE", path: "/api/v1/domains/:domain/vifs/:device", summary: "detach a network interface (by handle)", command: "network-detach", args: (p) => ({ domain: domain(p), device: /^\d+$/.test(p.device) ? Number(p.device) : p.device }) },
  { method: "GET", path: "/api/v1/domains/:domain/event-channels", summary: "a domain's event channels", command: "lsevtchn", args: (p) => ({ domain: domain(p) }) },
  {
    method: "POST", path: "/api/v1/domains/:domain/save", summary: "save a domain to a file on the host (it is destroyed unless keepRunning)", command: "save",
    body: v.object({ file: TEXT, keepRunning: FLAG }), args: (p, b) => ({ domain: domain(p), file: b.file, keepRunning: b.keepRunning === true }),
  },
  {
    method: "POST", path: "/api/v1/restore", summary: "restore a domain from a file on the host", command: "restore", status: 201,
    body: v.object({ file: TEXT, paused: FLAG }), args: (_p, b) => ({ file: b.file, paused: b.paused === true }),
  },
  {
    method: "POST", path: "/api/v1/domains/:domain/migrate", summary: "live-migrate a domain to another host (with Accept: text/event-stream, its progress as events; else GET /api/v1/migration)", command: "migrate", progress: "migrate-status",
    body: v.object({ host: TEXT, port: v.pipe(v.number("must be a port number"), v.integer("must be a whole number"), v.minValue(1), v.maxValue(65535)), live: FLAG }),
    args: (p, b) => ({ domain: domain(p), host: b.host, port: b.port, live: b.live !== false }),
  },
  { method: "GET", path: "/api/v1/migration", summary: "the migration under way, or null", command: "migrate-status", args: () => ({}) },
  // the rest of xl's commands
  { method: "GET", path: "/api/v1/host/dmesg", summary: "the hypervisor's console ring", command: "dmesg", args: () => ({}) },
  { method: "GET", path: "/api/v1/host/devices", summary: "the machine's devices and which domain has each", command: "device-list", args: () => ({}) },
  { method: "POST", path: "/api/v1/host/stop", summary: "stop the host (its domains are shut down, then destroyed)", command: "stop", args: () => ({}) },
  { method: "GET", path: "/api/v1/uptime", summary: "every domain's uptime", command: "uptime", args: () => ({}) },
  {
    method: "PUT", path: "/api/v1/domains/:domain/maxmem", summary: "set a domain's memory limit, in MiB", command: "mem-max",
    body: v.object({ mib: v.pipe(v.number("must be a number of MiB"), v.integer("must be a whole number of MiB"), v.minValue(1, "must be at least 1 MiB")) }),
    args: (p, b) => ({ domain: domain(p), mib: b.mib }),
  },
  { method: "PUT", path: "/api/v1/domains/:domain/name", summary: "rename a domain", command: "rename", body: v.object({ name: TEXT }), args: (p, b) => ({ domain: domain(p), name: b.name }) },
  {
    method: "PUT", path: "/api/v1/domains/:domain/vcpus/:vcpu/affinity", summary: "pin a vCPU (this host has one physical CPU)", command: "vcpu-pin",
    body: v.object({ cpus: v.union([v.string(), v.number()], "must name CPUs") }), args: (p, b) => ({ domain: domain(p), vcpu: p.vcpu, cpus: b.cpus }),
  },
  { method: "GET", path: "/api/v1/domains/:domain/scheduler", summary: "a domain's credit2 weight and cap", command: "sched-credit2", args: (p) => ({ domain: domain(p) }) },
  {
    method: "PUT", path: "/api/v1/domains/:domain/scheduler", summary: "set a domain's credit2 weight and cap", command: "sched-credit2",
    body: v.object({ weight: v.optional(v.number("must be a number")), cap: v.optional(v.number("must be a number")) }), args: (p, b) => ({ domain: domain(p), weight: b.weight, cap: b.cap }),
  },
  { method: "GET", path: "/api/v1/bridges", summary: "the host's bridges and their ports", command: "bridge-list", args: () => ({}) },
  { method: "POST", path: "/api/v1/bridges/:bridge/taps", summary: "join a host TAP device to a bridge (needs root)", command: "tap-attach", status: 201, body: v.object({ ifname: TEXT }), args: (p, b) => ({ bridge: p.bridge, ifname: b.ifname }) },
  { method: "DELETE", path: "/api/v1/taps/:ifname", summary: "take a TAP device off its bridge", command: "tap-detach", args: (p) => ({ ifname: p.ifname }) },
  {
    method: "POST", path: "/api/v1/domains/:domain/remus", summary: "protect a domain with Remus towards a backup host", command: "remus", status: 201,
    body: v.object({
      host: TEXT, port: v.pipe(v.number("must be a port number"), v.integer("must be a whole number"), v.minValue(1), v.maxValue(65535)),
      intervalMs: v.optional(v.number("must be a number of ms")), timeoutMs: v.optional(v.number("must be a number of ms")), netBuffer: FLAG, disk: FLAG, unsafeFailover: FLAG, arbiter: v.optional(TEXT),
    }),
    args: (p, b) => ({ domain: domain(p), ...b }),
  },
  { method: "GET", path: "/api/v1/remus", summary: "Remus protection on this host: domains it protects and copies it holds", command: "remus-status", args: () => ({}) },
  { method: "DELETE", path: "/api/v1/domains/:domain/remus", summary: "end a domain's Remus protection (it runs on; the backup discards its copy)", command: "remus-stop", args: (p) => ({ domain: domain(p) }) },
  { method: "POST", path: "/api/v1/domains/:domain/remus/switch", summary: "move a protected domain to its backup", command: "remus-switch", args: (p) => ({ domain: domain(p) }) },
  { method: "POST", path: "/api/v1/remus/:domain/takeover", summary: "on a backup: run the copy of a domain whose primary is lost", command: "remus-takeover", args: (p) => ({ domain: p.domain }) },
];
