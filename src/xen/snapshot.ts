// The snapshot contract every stateful part of a domain keeps (as Cloud
// Hypervisor's Snapshottable and Firecracker's Persist): an id, a section
// version, a schema that is both the section's type and its validator,
// save(), check() and load(). A context is composed of the parts' sections;
// restoring parses and checks every section before any part is loaded, so
// a context that is wrong anywhere changes nothing.

import * as v from "valibot";
import type { SectionRecord } from "./public/domain_context.js";

export class SnapshotError extends Error {}

export interface Snapshottable<T> {
  readonly id: string;
  readonly version: number;
  readonly schema: v.GenericSchema<unknown, T>;
  // false: the part is absent here (a domain without a vpl011) and has no section
  present(): boolean;
  save(): T;
  // Everything about an untrusted, schema-valid section that can be known
  // without changing anything: fits this domain, refers to its memory, and
  // so on. Throws SnapshotError (its message is prefixed with the section).
  check(s: T): void;
  // A checked section into the part. May fail only for want of resources.
  load(s: T): void;
  // Sections of older versions this part can still read, each turned into
  // the current version's data (before the schema sees it).
  readonly upgrades?: Readonly<Record<number, (old: unknown) => unknown>>;
}

// The sections of `parts` that are present, in order.
export function saveSections(parts: readonly Snapshottable<unknown>[]): SectionRecord[] {
  return parts.filter((p) => p.present()).map((p) => ({ id: p.id, version: p.version, data: p.save() }));
}

// A SnapshotError naming the section and the first field the schema refused.
function schemaError(id: string, issues: readonly v.BaseIssue<unknown>[]): SnapshotError {
  const i = issues[0];
  const path = v.getDotPath(i);
  return new SnapshotError(`section '${id}'${path ? ` field ${path}` : ""}: ${i.message}`);
}

// Parses and checks every section for `parts` and returns a function that
// loads them all; nothing is changed until that function is called. A part
// that is present here must have its section, and a section must have a
// part. `checkAll` sees the parsed sections before the parts' own checks,
// for facts that span sections (how many vCPUs the vGIC must have).
export function checkSections(parts: readonly Snapshottable<unknown>[], sections: readonly SectionRecord[], crossCheck?: (parsed: ReadonlyMap<string, unknown>) => void): () => void {
  const byId = new Map<string, SectionRecord>();
  for (const s of sections) {
    if (byId.has(s.id)) throw new SnapshotError(`section '${s.id}' appears twice`);
    if (!parts.some((p) => p.id === s.id)) throw new SnapshotError(`section '${s.id}' is not a part of a domain on this host`);
    byId.set(s.id, s);
  }
  const parsed = new Map<string, unknown>();
  const todo: [Snapshottable<unknown>, unknown][] = [];
  for (const p of parts) {
    const s = byId.get(p.id);
    if (!s) {
      if (p.present()) throw new SnapshotError(`the context has no '${p.id}' section`);
      continue;
    }
    if (!p.present()) throw new SnapshotError(`section '${p.id}': this domain has no such part (was it created with the same configuration?)`);
    let data = s.data;
    if (s.version !== p.version) {
      const up = p.upgrades?.[s.version];
      if (!up) throw new SnapshotError(`section '${p.id}' is version ${s.version}; this xents reads version ${p.version}${p.upgrades ? ` and ${Object.keys(p.upgrades).join(", ")}` : ""}`);
      try { data = up(data); } catch (e) { throw new SnapshotError(`section '${p.id}' version ${s.version} cannot be read: ${(e as Error).message}`); }
    }
    const r = v.safeParse(p.schema, data);
    if (!r.success) throw schemaError(p.id, r.issues);
    parsed.set(p.id, r.output);
    todo.push([p, r.output]);
  }
  crossCheck?.(parsed);
  for (const [p, data] of todo) {
    try { p.check(data); } catch (e) {
      if (e instanceof SnapshotError) throw new SnapshotError(`section '${p.id}': ${e.message}`);
      throw e;
    }
  }
  return () => { for (const [p, data] of todo) p.load(data); };
}
