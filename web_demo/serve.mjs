#!/usr/bin/env node
// A small static server for the demo: the page, its modules, LiteRT.js's wasm files and the
// model folders, all from one origin. Cross-origin isolation headers (COOP/COEP) let the page
// use LiteRT.js's threaded WebAssembly build.
//
//   node serve.mjs [--host 127.0.0.1] [--port 8000] [--mount /prefix=DIR]...
//                  [--tls-cert cert.pem --tls-key key.pem]
//
// Prints one line `fomm-tf web demo: http://HOST:PORT/` once listening (port 0: any free one),
// and with --host 0.0.0.0 one per address of this machine. With --tls-cert/--tls-key it
// serves HTTPS: a phone on the LAN then gets a secure origin, which the camera needs
// (`make web WEB_HOST=0.0.0.0 WEB_HTTPS=1` makes a self-signed certificate the first time).
import { createReadStream, readFileSync } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer } from "node:http";
import { createServer as createTlsServer } from "node:https";
import { networkInterfaces } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.dirname(fileURLToPath(import.meta.url));

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".wasm": "application/wasm",
  ".tflite": "application/octet-stream",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".webm": "video/webm",
  ".mp4": "video/mp4",
  ".map": "application/json; charset=utf-8",
  ".md": "text/plain; charset=utf-8",
  ".svg": "image/svg+xml",
  ".ico": "image/x-icon",
};

export function parseArgs(argv) {
  const opts = { host: "127.0.0.1", port: 8000, mounts: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${arg}: a value is expected`);
      return argv[++i];
    };
    if (arg === "--host") opts.host = next();
    else if (arg === "--port") opts.port = Number(next());
    else if (arg === "--tls-cert") opts.cert = next();
    else if (arg === "--tls-key") opts.key = next();
    else if (arg === "--mount") {
      const [prefix, dir] = next().split("=");
      if (!prefix.startsWith("/") || !dir) throw new Error("--mount /prefix=DIR expected");
      opts.mounts.push({ prefix: prefix.replace(/\/+$/, ""), dir: path.resolve(dir) });
    } else throw new Error(`unknown argument ${arg}`);
  }
  if (!opts.cert !== !opts.key) throw new Error("--tls-cert and --tls-key go together");
  return opts;
}

/** The file a URL path maps to, or null when it would leave its folder. */
export function resolvePath(urlPath, mounts, root = ROOT) {
  let decoded;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes("\0")) return null;
  let base = root;
  let rest = decoded;
  for (const { prefix, dir } of mounts) {
    if (decoded === prefix || decoded.startsWith(prefix + "/")) {
      base = dir;
      rest = decoded.slice(prefix.length);
      break;
    }
  }
  const file = path.resolve(base, "." + path.posix.normalize("/" + rest));
  if (file !== base && !file.startsWith(base + path.sep)) return null;
  return file;
}

/** Start serving; with `tls` ({cert, key}: PEM text) over HTTPS. Resolves to {server, url}. */
export function startServer({ host = "127.0.0.1", port = 0, mounts = [], tls = null } = {}) {
  const handler = async (req, res) => {
    const headers = {
      "Cross-Origin-Opener-Policy": "same-origin",
      "Cross-Origin-Embedder-Policy": "require-corp",
      "Cross-Origin-Resource-Policy": "same-origin",
      "Cache-Control": "no-store",
      "X-Content-Type-Options": "nosniff",
    };
    const url = new URL(req.url, "http://localhost");
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, headers).end();
      return;
    }
    let file = resolvePath(url.pathname, mounts);
    try {
      if (!file) throw new Error("outside");
      let info = await stat(file);
      if (info.isDirectory()) {
        file = path.join(file, "index.html");
        info = await stat(file);
      }
      const type = TYPES[path.extname(file).toLowerCase()] || "application/octet-stream";
      res.writeHead(200, { ...headers, "Content-Type": type, "Content-Length": info.size });
      if (req.method === "HEAD") res.end();
      else createReadStream(file).pipe(res);
    } catch {
      res.writeHead(404, { ...headers, "Content-Type": "text/plain" }).end("not found\n");
    }
  };
  const server = tls ? createTlsServer({ cert: tls.cert, key: tls.key }, handler) : createServer(handler);
  const scheme = tls ? "https" : "http";
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      const { port: actual } = server.address();
      resolve({ server, url: `${scheme}://${host}:${actual}/` });
    });
  });
}

/** The URLs a phone on the LAN can open when the server listens on every address. */
export function lanUrls(url) {
  const u = new URL(url);
  if (u.hostname !== "0.0.0.0") return [];
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a && a.family === "IPv4" && !a.internal)
    .map((a) => `${u.protocol}//${a.address}:${u.port}/`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`serve.mjs: ${err.message}`);
    process.exit(2);
  }
  try {
    const tls = opts.cert ? { cert: readFileSync(opts.cert), key: readFileSync(opts.key) } : null;
    const { url } = await startServer({ ...opts, tls });
    console.log(`fomm-tf web demo: ${url}`);
    for (const lan of lanUrls(url)) console.log(`  on the LAN: ${lan}`);
    if (tls) {
      console.log("  (a self-signed certificate: the browser warns once; accept it to use the camera)");
    } else if (opts.host !== "127.0.0.1" && opts.host !== "localhost") {
      console.log("  (plain HTTP: other machines get no camera; WEB_HTTPS=1 serves HTTPS)");
    }
  } catch (err) {
    const why = err.code === "EADDRINUSE" ? `port ${opts.port} is in use (WEB_PORT=…)` : err.message;
    console.error(`serve.mjs: cannot listen on ${opts.host}:${opts.port}: ${why}`);
    process.exit(2);
  }
}
