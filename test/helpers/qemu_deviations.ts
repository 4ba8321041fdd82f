// Known departures of the QEMU reference from the architecture, kept beside a
// bare-metal program as <name>.qemu-deviations. The file holds hunks of "-"
// lines (taken out of <name>.expected, consecutive and found exactly once)
// followed by "+" lines (put in their place); "#" lines are comments and a
// blank line ends a hunk. The QEMU run is compared with the result, so the
// expected file stays what the architecture requires.

interface Hunk { remove: string[]; add: string[]; }

function parse(text: string): Hunk[] {
  const hunks: Hunk[] = [];
  let cur: Hunk | null = null;
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    if (line.trim() === "") { cur = null; continue; }
    const kind = line[0];
    const body = line.slice(1);
    if (kind === "-") {
      if (!cur || cur.add.length > 0) { cur = { remove: [], add: [] }; hunks.push(cur); }
      cur.remove.push(body);
    } else if (kind === "+") {
      if (!cur) { cur = { remove: [], add: [] }; hunks.push(cur); }
      cur.add.push(body);
    } else {
      throw new Error(`qemu deviations: bad line ${JSON.stringify(line)}`);
    }
  }
  for (const h of hunks) if (h.remove.length === 0) throw new Error("qemu deviations: a hunk must remove at least one line");
  return hunks;
}

function indexesOf(lines: string[], block: string[]): number[] {
  const found: number[] = [];
  for (let i = 0; i + block.length <= lines.length; i++) {
    if (block.every((b, j) => lines[i + j] === b)) found.push(i);
  }
  return found;
}

/** The output QEMU is expected to print: expected with the hunks applied. */
export function applyQemuDeviations(expected: string, deviations: string): string {
  let lines = expected.split("\n");
  for (const h of parse(deviations)) {
    const at = indexesOf(lines, h.remove);
    if (at.length !== 1) {
      throw new Error(`qemu deviations: ${JSON.stringify(h.remove[0])} found ${at.length} times in the expected output`);
    }
    const i = at[0] as number;
    lines = [...lines.slice(0, i), ...h.add, ...lines.slice(i + h.remove.length)];
  }
  return lines.join("\n");
}
