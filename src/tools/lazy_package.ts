// A package loaded where it is first used rather than when its importer is:
// every xents command imports the whole command table, and etcd's client
// (with gRPC and protobuf), Fastify and its plugins, and prom-client took
// ~0.2 s of each command's start (of the ~0.39 s before `bench boot`'s
// guest was built) though only a host daemon with its HTTP API, its
// metrics or a Remus arbiter uses them. CommonJS packages only: require()
// is synchronous, so the constructors that use them stay synchronous.

import { createRequire } from "node:module";

const requireHere = createRequire(import.meta.url);

export function lazyPackage<T>(name: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= requireHere(name) as T);
}

// The packages xents loads this way (test/unit/startup.test.ts checks that
// a command needing none of them loads none).
export const LAZY_PACKAGES = ["etcd3", "fastify", "@fastify/cookie", "@fastify/websocket", "@fastify/static", "prom-client"] as const;
