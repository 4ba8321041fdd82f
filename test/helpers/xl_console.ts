// Into and out of a domU's console with Debian's `xl console`, typed at a
// Linux Domain-0's shell as a Xen user would (Ctrl-] comes back).

import type { ConsoleSession } from "./linux_guest.js";

export const DOM0_PROMPT = /dom0:\/# /;

// `prompt`: the domU's shell prompt (the guest initramfs's by default).
export async function enterDomU(s: ConsoleSession, domain: string, timeoutMs: number, prompt = /\/ # /): Promise<void> {
  const mark = s.out.length;
  s.type(`xl console ${domain}\n`);
  s.type("\n");
  await s.waitFor(prompt, timeoutMs, mark);
}

// Back to Domain-0's shell: xenconsole detaches on a Ctrl-] read alone.
export async function leaveDomU(s: ConsoleSession): Promise<void> {
  const mark = s.out.length;
  await s.detach(() => s.waitFor(DOM0_PROMPT, 10_000, mark));
}
