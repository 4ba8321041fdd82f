// The host's web console: the domain table (updated every second, CPU %
// from the CPU time's growth), a form to create a domain from xl.cfg text,
// the life-cycle operations with confirmations, a migrate dialog with a
// progress bar, and a page per domain (disks, vifs, CPU and network charts,
// the console). Everything goes through the HTTP API (api.ts).

import { api, apiEvents, ApiError, type DomainRow, type DomainDetails, type MigrationProgress } from "./api.js";
import { LineChart } from "./chart.js";
import { ConsoleView } from "./console_view.js";

const view = document.getElementById("view") as HTMLElement;
let leave: (() => void) | null = null; // what the current view stops when another is shown

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> & { dataset?: Record<string, string> } = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  const { dataset, ...rest } = props;
  Object.assign(e, rest);
  if (dataset) Object.assign(e.dataset, dataset);
  e.append(...children);
  return e;
}
const message = (e: unknown): string => (e instanceof ApiError || e instanceof Error ? e.message : String(e));

function show(render: () => () => void): void {
  leave?.();
  view.replaceChildren();
  leave = render();
}

function route(): void {
  const m = /^#\/domain\/(.+)$/.exec(location.hash);
  if (m) show(() => domainPage(decodeURIComponent(m[1])));
  else show(domainsPage);
}

// ---- the domain table
function domainsPage(): () => void {
  const note = el("p", { role: "status" });
  const tbody = el("tbody");
  const table = el("table", { id: "domains" },
    el("thead", {}, el("tr", {}, ...["Name", "ID", "State", "CPU %", "Memory (MiB)", "vCPUs", ""].map((h, i) => el("th", { className: i >= 3 && i <= 5 ? "num" : "" }, h)))),
    tbody);
  const config = el("textarea", { name: "config", id: "create-config", placeholder: 'name = "guest"\nmemory = 256\nvcpus = 1\nkernel = "/path/vmlinuz"\nramdisk = "/path/initrd.img"\nextra = "console=hvc0"', spellcheck: false });
  const paused = el("input", { type: "checkbox", name: "paused" });
  const created = el("p", { role: "status", id: "create-status" });
  const form = el("form", { id: "create-form" }, el("h2", {}, "Create a domain"),
    el("p", {}, "An xl.cfg text, as ", el("code", {}, "xl create"), " reads it (paths are the host's), or the fields below."),
    config, el("label", {}, paused, " paused"), " ", el("button", { type: "submit" }, "Create"), created);
  const create = (text: string, isPaused: boolean): void => {
    created.className = ""; created.textContent = "creating...";
    api<{ domid: number; name: string }>("POST", "/api/v1/domains", { config: text, paused: isPaused }).then((r) => {
      created.className = "ok"; created.textContent = `created ${r.name} (domain ${r.domid})`;
      void refresh();
    }, (e) => { created.className = "error"; created.textContent = message(e); });
  };
  form.addEventListener("submit", (ev) => { ev.preventDefault(); create(config.value, paused.checked); });
  // the same from fields: they become the xl.cfg text the server reads
  const field = (name: string, label: string, props: Partial<Omit<HTMLInputElement, "dataset">> = {}): HTMLLabelElement => el("label", {}, `${label} `, el("input", { name, ...props }));
  const fields = el("form", { id: "create-fields" },
    field("name", "Name", { required: true, pattern: "[A-Za-z0-9_.-]+" }), field("memory", "Memory (MiB)", { type: "number", min: "16", value: "256", required: true }),
    field("vcpus", "vCPUs", { type: "number", min: "1", value: "1", required: true }), field("kernel", "Kernel", { required: true }), field("ramdisk", "Ramdisk"),
    field("extra", "Command line", { value: "console=hvc0" }), field("disk", "Disk (xl disk spec)"), field("vif", "Network (xl vif spec)"),
    el("label", {}, el("input", { type: "checkbox", name: "paused" }), " paused"), " ", el("button", { type: "submit" }, "Create"));
  fields.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const f = new FormData(fields);
    const q = (k: string): string => JSON.stringify(String(f.get(k) ?? "")); // xl.cfg strings are quoted as JSON's
    const lines = [`name = ${q("name")}`, `memory = ${Number(f.get("memory"))}`, `vcpus = ${Number(f.get("vcpus"))}`, `kernel = ${q("kernel")}`];
    if (f.get("ramdisk")) lines.push(`ramdisk = ${q("ramdisk")}`);
    if (f.get("extra")) lines.push(`extra = ${q("extra")}`);
    if (f.get("disk")) lines.push(`disk = [ ${q("disk")} ]`);
    if (f.get("vif")) lines.push(`vif = [ ${q("vif")} ]`);
    create(`${lines.join("\n")}\n`, f.get("paused") === "on");
  });
  view.append(el("h1", {}, "Domains"), table, note, el("section", {}, form, el("h3", {}, "or by fields"), fields));

  const last = new Map<number, { time: number; at: number; pct: number }>();
  const act = (what: string, method: string, path: string, confirmText?: string) => async (): Promise<void> => {
    if (confirmText && !confirm(confirmText)) return;
    note.className = ""; note.textContent = `${what}...`;
    try { await api(method, path, {}); note.textContent = `${what}: done`; } catch (e) { note.className = "error"; note.textContent = `${what}: ${message(e)}`; }
    void refresh();
  };
  const refresh = async (): Promise<void> => {
    let rows: DomainRow[];
    try { rows = await api<DomainRow[]>("GET", "/api/v1/domains"); } catch (e) { note.className = "error"; note.textContent = message(e); return; }
    const now = performance.now();
    tbody.replaceChildren(...rows.map((d) => {
      const prev = last.get(d.id);
      // (the poll's own timing jitters: never more than its vCPUs can run)
      const pct = prev && now > prev.at ? Math.min(100 * d.vcpus, Math.max(0, (100 * (d.time - prev.time)) / ((now - prev.at) / 1000))) : prev?.pct ?? 0;
      last.set(d.id, { time: d.time, at: now, pct });
      const path = `/api/v1/domains/${encodeURIComponent(d.name)}`;
      const isPaused = d.state.includes("p");
      const actions = d.id === 0 ? [] : [
        el("button", { onclick: act(isPaused ? `unpause ${d.name}` : `pause ${d.name}`, "POST", `${path}/${isPaused ? "unpause" : "pause"}`) }, isPaused ? "Unpause" : "Pause"),
        el("button", { onclick: act(`shut down ${d.name}`, "POST", `${path}/shutdown`, `Shut down ${d.name}?`) }, "Shut down"),
        el("button", { onclick: act(`reboot ${d.name}`, "POST", `${path}/reboot`, `Reboot ${d.name}?`) }, "Reboot"),
        el("button", { onclick: act(`destroy ${d.name}`, "DELETE", path, `Destroy ${d.name}? It stops at once, as if its power were cut.`) }, "Destroy"),
        el("button", { onclick: () => migrateDialog(d.name, refresh) }, "Migrate"),
      ];
      return el("tr", { dataset: { domain: d.name } },
        el("td", {}, d.id === 0 ? d.name : el("a", { href: `#/domain/${encodeURIComponent(d.name)}` }, d.name)),
        el("td", { className: "num" }, String(d.id)), el("td", { className: "state" }, d.state),
        el("td", { className: "num cpu" }, pct.toFixed(1)), el("td", { className: "num" }, String(d.mem)), el("td", { className: "num" }, String(d.vcpus)),
        el("td", { className: "actions" }, ...actions));
    }));
  };
  void refresh();
  const t = setInterval(() => void refresh(), 1000);
  return () => clearInterval(t);
}

// ---- migration, with its progress
function migrateDialog(domain: string, done: () => Promise<void>): void {
  const dlg = document.getElementById("migrate-dialog") as HTMLDialogElement;
  const form = document.getElementById("migrate-form") as HTMLFormElement;
  const bar = document.getElementById("migrate-progress") as HTMLProgressElement;
  const status = document.getElementById("migrate-status") as HTMLElement;
  const start = document.getElementById("migrate-start") as HTMLButtonElement;
  (document.getElementById("migrate-domain") as HTMLElement).textContent = domain;
  bar.value = 0; status.textContent = ""; status.className = ""; start.disabled = false;
  (document.getElementById("migrate-cancel") as HTMLButtonElement).onclick = () => dlg.close();
  form.onsubmit = (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    start.disabled = true;
    status.textContent = "connecting...";
    let events = 0;
    bar.dataset.progressEvents = "0";
    const body = { host: String(f.get("host")), port: Number(f.get("port")), live: f.get("live") === "on" };
    apiEvents("POST", `/api/v1/domains/${encodeURIComponent(domain)}/migrate`, body, (event, data) => {
      if (event !== "progress") return;
      const p = data as MigrationProgress;
      bar.dataset.progressEvents = String(++events);
      bar.max = Math.max(1, p.totalPages); bar.value = Math.min(p.pagesSent, p.totalPages);
      status.textContent = `${p.phase}, round ${p.round}: ${p.pagesSent} pages sent of ${p.totalPages}${p.dirty ? `, ${p.dirty} dirty` : ""}`;
    }).then((last) => {
      if (last.event !== "done") throw new Error(String((last.data as { error?: unknown } | null)?.error ?? "the migration ended without an answer"));
      const r = last.data as { downtimeMs: number; totalMs: number; destinationDomid: number };
      bar.value = bar.max; status.className = "ok"; status.textContent = `migrated in ${r.totalMs} ms (downtime ${r.downtimeMs} ms); domain ${r.destinationDomid} there`;
    }).catch((e: unknown) => { status.className = "error"; status.textContent = message(e); start.disabled = false; })
      .finally(() => void done());
  };
  dlg.showModal();
}

// ---- one domain
function domainPage(name: string): () => void {
  const status = el("p", { role: "status", id: "console-status" });
  const facts = el("div");
  const cpu = el("canvas", { width: 480, height: 140, id: "cpu-chart" });
  const net = el("canvas", { width: 480, height: 140, id: "net-chart" });
  const term = el("div", { id: "terminal" });
  view.append(el("p", {}, el("a", { href: "#/" }, "< Domains")), el("h1", {}, name), facts,
    el("div", { className: "charts" }, el("figure", {}, cpu, el("figcaption", {}, "CPU %")), el("figure", {}, net, el("figcaption", {}, "network, bytes/s"))),
    el("h2", {}, "Console"), term, status);
  const cpuChart = new LineChart(cpu, [["CPU", "#2563eb"]], "%");
  const netChart = new LineChart(net, [["received", "#059669"], ["sent", "#d97706"]], "B/s");
  const consoleView = new ConsoleView(term, name, (s) => { status.textContent = `console: ${s}`; });
  let prev: { at: number; time: number; rx: number; tx: number } | null = null;
  const refresh = async (): Promise<void> => {
    let d: DomainDetails;
    try { d = await api<DomainDetails>("GET", `/api/v1/domains/${encodeURIComponent(name)}`); } catch (e) { facts.replaceChildren(el("p", { className: "error" }, message(e))); return; }
    const rx = d.counters?.vifs.reduce((n, v) => n + v.rxBytes, 0) ?? 0, tx = d.counters?.vifs.reduce((n, v) => n + v.txBytes, 0) ?? 0;
    const at = performance.now();
    if (prev) {
      const dt = (at - prev.at) / 1000;
      cpuChart.push((100 * (d.time - prev.time)) / dt);
      netChart.push((rx - prev.rx) / dt, (tx - prev.tx) / dt);
    }
    prev = { at, time: d.time, rx, tx };
    facts.replaceChildren(
      el("p", {}, `domain ${d.id}, state ${d.state}, ${d.mem} MiB, ${d.vcpus} vCPU(s), ${d.time.toFixed(1)} s of CPU, ${d.event_channels?.length ?? 0} event channels, ${d.counters?.grantMappings ?? 0} pages mapped by Domain-0's backends`),
      el("table", { id: "disks" }, el("thead", {}, el("tr", {}, el("th", {}, "Disk"), el("th", {}, "Image"))), el("tbody", {}, ...(d.disks ?? []).map((x) => el("tr", {}, el("td", {}, x.vdev), el("td", {}, x.target))))),
      el("table", { id: "vifs" }, el("thead", {}, el("tr", {}, el("th", {}, "Vif"), el("th", {}, "MAC"), el("th", {}, "Bridge"))), el("tbody", {}, ...(d.vifs ?? []).map((x) => el("tr", {}, el("td", {}, String(x.handle)), el("td", {}, x.mac), el("td", {}, x.bridge))))));
  };
  void refresh();
  const t = setInterval(() => void refresh(), 1000);
  return () => { clearInterval(t); consoleView.close(); };
}

api<{ http: string | null; pid: number }>("GET", "/api/v1/host").then((h) => { (document.getElementById("host") as HTMLElement).textContent = `host ${h.http ?? location.host} (pid ${h.pid})`; }, () => undefined);
window.addEventListener("hashchange", route);
route();
