// The HTTP API's OpenAPI 3.1 document, made from the route table: the paths,
// each operation's summary, its path parameters and its body's schema (the
// valibot schema the server checks, as JSON Schema through valibot's own
// converter), and the errors every operation may answer.

import { toJsonSchema } from "@valibot/to-json-schema";
import type { ApiRoute } from "./api_routes.js";

const ERROR = { type: "object", properties: { error: { type: "string" } }, required: ["error"] };
const errorResponse = (description: string): object => ({ description, content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } });

export function openApiDocument(routes: ApiRoute[]): object {
  const paths: Record<string, Record<string, object>> = {};
  const add = (method: string, path: string, summary: string, params: string[], body: object | null, status: number, progress = false): void => {
    const p = path.replace(/:(\w+)/g, "{$1}");
    paths[p] ??= {};
    paths[p][method.toLowerCase()] = {
      summary,
      operationId: `${method.toLowerCase()}${p.replace(/\{(\w+)\}/g, "By_$1").replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? "").toUpperCase())}`,
      parameters: params.map((name) => ({
        name, in: "path", required: true, schema: { type: "string" },
        description: name === "domain" ? "the domain's name or id" : name === "device" ? "the device: a vdev, a device number or a vif handle" : name,
      })),
      ...(body ? { requestBody: { required: true, content: { "application/json": { schema: body } } } } : {}),
      responses: {
        [String(status)]: { description: "done", content: { "application/json": { schema: {} }, ...(progress ? { "text/event-stream": { schema: { type: "string", description: "events: progress (repeated), then done or error" } } } : {}) } },
        400: errorResponse("malformed: the message names what"),
        401: errorResponse("no token, or a wrong one"),
        403: errorResponse("a cookie-authenticated change from another origin"),
        404: errorResponse("no such domain or route"),
        413: errorResponse("the body is over 1 MiB"),
        500: errorResponse("the daemon failed (logged as a bug)"),
      },
    };
  };
  add("GET", "/api/v1/domains/:domain", "one domain: its row of the list, disks, vifs, event channels and its devices' counters", ["domain"], null, 200);
  for (const r of routes) {
    const params = [...r.path.matchAll(/:(\w+)/g)].map((m) => m[1]);
    add(r.method, r.path, `${r.summary} (xl ${r.command})`, params, r.body ? toJsonSchema(r.body, { errorMode: "ignore" }) : null, r.status ?? 200, r.progress !== undefined);
  }
  return {
    openapi: "3.1.0",
    info: { title: "xents host API", version: "1", description: "The host's domains and its toolstack's operations, as the xents CLI runs them." },
    components: {
      schemas: { Error: ERROR },
      securitySchemes: { token: { type: "http", scheme: "bearer", description: "the host's $XENTS_HOME/http.token" }, cookie: { type: "apiKey", in: "cookie", name: "xents_token" } },
    },
    security: [{ token: [] }, { cookie: [] }],
    paths,
  };
}
