// The architecture's rules, checked on the import graph: cpu/ imports nothing
// above it; tools/ reaches xen/ only through the hypercall ABI module
// (src/xen/public); xen/ does not import tools/ or host/; lib/ (formats
// shared by every layer) imports only the ABI; hw/ imports only hw/; web/
// (the browser's page) imports only web/.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, dirname, resolve, relative } from "node:path";

const root = resolve("src");
function files(dir: string): string[] {
  const out: string[] = [];
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (f.endsWith(".ts")) out.push(p);
  }
  return out;
}
function imports(file: string): string[] {
  const src = readFileSync(file, "utf8");
  const out: string[] = [];
  for (const m of src.matchAll(/(?:import|export)[^"';]*from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g)) {
    const spec = m[1] ?? m[2];
    if (spec.startsWith(".")) out.push(relative(root, resolve(dirname(file), spec)).replace(/\.js$/, ""));
  }
  return out;
}

test("layering: cpu/ imports nothing from the layers above it", () => {
  const bad: string[] = [];
  for (const f of files(join(root, "cpu"))) for (const i of imports(f)) if (!i.startsWith("cpu")) bad.push(`${relative(root, f)} -> ${i}`);
  assert.deepEqual(bad, []);
});

test("layering: tools/ reaches xen/ only through the hypercall ABI module", () => {
  const bad: string[] = [];
  for (const f of files(join(root, "tools"))) {
    for (const i of imports(f)) {
      if (i.startsWith("xen/") && !i.startsWith("xen/public/")) bad.push(`${relative(root, f)} -> ${i}`);
      if (i.startsWith("host/") || i === "main") bad.push(`${relative(root, f)} -> ${i}`);
    }
  }
  assert.deepEqual(bad, []);
});

test("layering: xen/ does not import tools/, host/ or linux_user/", () => {
  const bad: string[] = [];
  for (const f of files(join(root, "xen"))) {
    for (const i of imports(f)) if (/^(tools|host|linux_user)\//.test(i)) bad.push(`${relative(root, f)} -> ${i}`);
  }
  assert.deepEqual(bad, []);
});

// lib/ holds formats every layer writes alike (the device tree, the arm64
// Image header): it may name the guest ABI's constants and nothing else.
test("layering: lib/ imports only lib/ and the guest ABI", () => {
  const bad: string[] = [];
  for (const f of files(join(root, "lib"))) {
    for (const i of imports(f)) if (!i.startsWith("lib/") && !i.startsWith("xen/public/")) bad.push(`${relative(root, f)} -> ${i}`);
  }
  assert.deepEqual(bad, []);
});

// hw/ is the machine: its devices see memory only through the DMA space
// their owner gives them, and know nothing of Xen or of the tools.
test("layering: hw/ imports only hw/", () => {
  const bad: string[] = [];
  for (const f of files(join(root, "hw"))) for (const i of imports(f)) if (!i.startsWith("hw/")) bad.push(`${relative(root, f)} -> ${i}`);
  assert.deepEqual(bad, []);
});

// web/ is the browser's page: it reaches the host only over HTTP.
test("layering: web/ imports only web/", () => {
  const bad: string[] = [];
  for (const f of files(join(root, "web"))) for (const i of imports(f)) if (!i.startsWith("web/")) bad.push(`${relative(root, f)} -> ${i}`);
  assert.deepEqual(bad, []);
});

// No module depends on itself through others, type-only imports included: a
// cycle means two files are one concept split in two, or one reaches into
// the other's owner (handlers take HypercallServices, not the Hypervisor;
// restore takes a RestoreTarget, not the Toolstack).
test("layering: no import cycles anywhere in src/", () => {
  const graph = new Map<string, string[]>();
  for (const f of files(root)) graph.set(relative(root, f).replace(/\.ts$/, ""), imports(f));
  // Tarjan's strongly connected components
  let next = 0;
  const index = new Map<string, number>(), low = new Map<string, number>(), onStack = new Set<string>(), stack: string[] = [];
  const cycles: string[] = [];
  const visit = (v: string): void => {
    index.set(v, next); low.set(v, next); next++;
    stack.push(v); onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) { visit(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); }
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      for (let w = stack.pop()!; ; w = stack.pop()!) { onStack.delete(w); scc.push(w); if (w === v) break; }
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(scc.sort().join(" <-> "));
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  assert.ok(graph.size > 100, `only ${graph.size} modules found under src/`);
  assert.deepEqual(cycles, []);
});
