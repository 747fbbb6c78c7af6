// A real HTTP server on 127.0.0.1 for the transport tests, kept in plain Node (the browser
// code's type set has no Node types). Answers like `sluice serve`'s /api/call.
import { createServer } from "node:http";

export async function startTestServer(token) {
  const seen = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const parsed = body ? JSON.parse(body) : null;
      seen.push({ auth: req.headers.authorization, body: parsed });
      const json = (status, value) => res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(value));
      if (req.url !== "/api/call" || req.method !== "POST") return void res.writeHead(404).end("no such route");
      if (req.headers.authorization !== `Bearer ${token}`) return json(401, { kind: "unauthorized", message: "missing or wrong token" });
      if (parsed.op === "open_flow") {
        return json(400, {
          kind: "invalid_flow",
          message: "x.flow.json is not a valid flow",
          diagnostics: [{ severity: "error", code: "json_syntax", message: "expected `,`", line: 3, column: 7 }],
        });
      }
      if (parsed.op === "recent_files") return void res.writeHead(500).end("plain text failure");
      json(200, { op: parsed.op, kinds: [] });
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/`,
    seen,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
