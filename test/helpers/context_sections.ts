// A domain context's sections by id, for tests that look inside or corrupt one.
import type { DomainContext, SavedDomainState, SavedMemory, SavedGrantTable, SavedVcpu, SavedVgic, SavedEventChannels, SavedVpl011 } from "../../src/xen/public/domain_context.js";

interface Sections { domain: SavedDomainState; memory: SavedMemory; gnttab: SavedGrantTable; vcpus: SavedVcpu[]; vgic: SavedVgic; evtchn: SavedEventChannels; vpl011: SavedVpl011 }

export function section<K extends keyof Sections>(c: DomainContext, id: K): Sections[K] {
  const s = c.sections.find((x) => x.id === id);
  if (!s) throw new Error(`the context has no '${id}' section`);
  return s.data as Sections[K];
}
