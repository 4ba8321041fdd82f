// A TCP port on 127.0.0.1 that was free a moment ago, for a program that
// must be told its port (QEMU's -incoming, tcp_xfer recv).
import { createServer } from "node:net";

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => { const a = s.address(); s.close(() => res(typeof a === "object" && a ? a.port : 0)); });
  });
}
