// Waiting for a condition that the guests (on this process's event loop) bring about.
export async function until(what: string, f: () => boolean, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!f()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
