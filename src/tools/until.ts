// Waiting for a condition that other work (a guest, a child process, the
// network) makes true, polling every 20 ms, with a deadline that names
// what was awaited. For benchmarks and tools, never a hot path.
export async function until(f: () => boolean, ms: number, what: string): Promise<void> {
  const t0 = performance.now();
  while (!f()) {
    if (performance.now() - t0 > ms) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
