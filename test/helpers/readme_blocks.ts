// The README's sections and their code blocks, for the tests that run what
// a section shows exactly as written.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

// The text of `## title` up to the next `## ` heading.
export function readmeSection(title: string): string {
  const readme = readFileSync("README.md", "utf8");
  const at = readme.indexOf(`## ${title}`);
  assert.ok(at >= 0, `the README has "${title}"`);
  const end = readme.indexOf("\n## ", at + 1);
  return readme.slice(at, end < 0 ? undefined : end);
}

// The first ```lang block of that section.
export function readmeBlock(title: string, lang: string): string {
  const m = new RegExp("```" + lang + "\\n([\\s\\S]*?)```").exec(readmeSection(title));
  assert.ok(m, `a ${lang} block in the README's "${title}"`);
  return m[1];
}
