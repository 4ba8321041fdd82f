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

// The `nth` ```lang block of that section (the first by default).
export function readmeBlock(title: string, lang: string, nth = 0): string {
  const m = [...readmeSection(title).matchAll(new RegExp("```" + lang + "\\n([\\s\\S]*?)```", "g"))][nth];
  assert.ok(m, `${nth + 1} ${lang} block(s) in the README's "${title}"`);
  return m[1];
}
