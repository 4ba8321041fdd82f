// A connection to a local unix stream socket that waits out a busy listener.
// Linux answers a non-blocking connect() with EAGAIN, rather than queueing
// it, when the listener's accept queue is full (a host busy with a thousand
// clients at once): the caller is told to try again, so this tries again.
import { connect, Socket } from "node:net";

// Once connected, the socket's errors are the caller's to handle.
export function connectUnix(path: string, patienceMs = 10_000): Promise<Socket> {
  const t0 = performance.now();
  return new Promise((res, rej) => {
    let wait = 2;
    const attempt = (): void => {
      const s = connect(path);
      s.once("connect", () => { s.removeAllListeners("error"); res(s); });
      s.once("error", (e: NodeJS.ErrnoException) => {
        s.destroy();
        if (e.code !== "EAGAIN" || performance.now() - t0 > patienceMs) { rej(e); return; }
        setTimeout(attempt, wait);
        wait = Math.min(wait * 2, 100);
      });
    };
    attempt();
  });
}
