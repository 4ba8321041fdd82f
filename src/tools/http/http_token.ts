// The HTTP API's token: $XENTS_HOME/http.token, made at the host's first
// start (32 random bytes, hex, mode 0600 as the migration key), required of
// every request. Compared in constant time.

import { existsSync, readFileSync, writeFileSync, chmodSync } from "node:fs";
import { randomBytes, timingSafeEqual } from "node:crypto";

export function httpToken(path: string): string {
  if (!existsSync(path)) writeFileSync(path, `${randomBytes(32).toString("hex")}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  const t = readFileSync(path, "utf8").trim();
  if (t.length < 32) throw new Error(`${path} holds no usable token (at least 32 characters): remove it and a new one is made`);
  return t;
}

export function sameToken(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given), b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}
