// The browser tests' harness: a real avsync-server, a static server for the page on another
// origin, a proxy that can lose an answer, the C++ CLI, and headless Chromium (playwright-core).
// A missing binary or a browser that cannot start throws: the test fails, it is never skipped.
//
//   const env = await setup();                 // static server, avsync-server (CORS for it), Chromium
//   const page = await env.openPage();         // a tab of the page's origin; window.avsync is the package
//   await page.evaluate(async ([url, token]) => {
//     const client = await avsync.createClient({ server: url, token });
//   }, [env.server.url, env.server.token]);
//   await env.server.stop(); await env.server.kill(); await env.server.start();   // same port, same db
//   const dev = env.cliDevice(); dev.run("customers", "add", "--name", "Ana"); dev.list("customers");
//   await env.close();
//
// Pieces, for a test that needs another arrangement:
//   startStatic()                      serves dist-test/browser/ and /index.html (which loads /avsync.js)
//   startServer({ corsOrigins })       an avsync-server with a temp SQLite db, a business and a token
//   startProxy(targetPort)             forwards to the server, records the operationIds sent;
//                                      loseNextBatchAnswer() drops one batch's answer
//   launchBrowser()                    a persistent context in a fresh profile (IndexedDB survives reloads;
//                                      two pages of it are two tabs of the same origin)
//   sqlite(dbPath, sql)                a read-only query of the server's database with the sqlite3 CLI
//
// Paths: AVSYNC_SERVER, AVSYNC_CLI and CHROMIUM, with defaults relative to clients/web.
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { BrowserContext, Page, chromium } from "playwright-core";

/** clients/web, found from this file's place in dist-test/{e2e,bench}/. */
export const webRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const serverBinary = process.env.AVSYNC_SERVER || resolve(webRoot, "../../build/src/server/avsync-server");
export const cliBinary = process.env.AVSYNC_CLI || resolve(webRoot, "../../build/src/cli/avsync");
export const chromiumBinary = process.env.CHROMIUM || "/usr/bin/chromium";

function need(path: string, what: string, env: string): string {
  if (!existsSync(path)) throw new Error(`${what} not found at ${path} (${env})`);
  return path;
}

const tempDirs: string[] = [];
/** A directory removed when the process exits. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `avsync-${prefix}-`));
  tempDirs.push(dir);
  return dir;
}
process.on("exit", () => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

// ---- avsync-server -----------------------------------------------------------------------

export interface AvsyncServer {
  /** http://127.0.0.1:PORT; the port stays the same across restarts. */
  url: string;
  port: number;
  dbPath: string;
  businessId: string;
  /** A device token of user "web" of the business. */
  token: string;
  /** Another device token of the same business. */
  createToken(user: string): string;
  /** Starts it again on the same port and database (after stop or kill). */
  start(): Promise<void>;
  /** SIGTERM, and waits for the exit. */
  stop(): Promise<void>;
  /** SIGKILL (kill -9), and waits for the exit. */
  kill(): Promise<void>;
  running(): boolean;
}

export interface ServerOptions {
  corsOrigins?: string[];
  /** More flags of `serve`, e.g. ["--op-rate-limit", "0"]. */
  args?: string[];
}

function admin(db: string, ...args: string[]): string {
  return execFileSync(serverBinary, ["admin", ...args, "--db", `sqlite:${db}`], { encoding: "utf8" }).trim();
}

export async function startServer(options: ServerOptions = {}): Promise<AvsyncServer> {
  need(serverBinary, "avsync-server", "build it, or set AVSYNC_SERVER");
  const dbPath = join(tempDir("server"), "server.db");
  const businessId = admin(dbPath, "create-business", "--name", "web-e2e");
  const token = admin(dbPath, "create-token", "--business", businessId, "--user", "web");
  let port = 0;
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();

  const launch = () =>
    new Promise<void>((resolveStart, reject) => {
      const args = ["serve", "--db", `sqlite:${dbPath}`, "--listen", `127.0.0.1:${port}`];
      for (const o of options.corsOrigins ?? []) args.push("--cors-origin", o);
      args.push(...(options.args ?? []));
      const p = spawn(serverBinary, args, { stdio: ["ignore", "pipe", "pipe"] });
      child = p;
      exited = new Promise((r) => p.once("exit", () => r()));
      let log = "";
      const timer = setTimeout(() => reject(new Error(`avsync-server did not start within 10 s:\n${log}`)), 10000);
      const onData = (chunk: Buffer) => {
        log += chunk.toString();
        const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(log);
        if (m) {
          clearTimeout(timer);
          port = Number(m[1]);
          p.stdout!.off("data", onData);
          p.stderr!.off("data", onData);
          p.stdout!.resume();
          p.stderr!.resume();
          resolveStart();
        }
      };
      p.stdout!.on("data", onData);
      p.stderr!.on("data", onData);
      p.once("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`avsync-server exited (${code ?? signal}) while starting:\n${log}`));
      });
    });

  const end = async (signal: NodeJS.Signals) => {
    const p = child as ChildProcess | null;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    p.kill(signal);
    await exited;
    child = null;
  };

  await launch();
  const server: AvsyncServer = {
    url: `http://127.0.0.1:${port}`,
    port,
    dbPath,
    businessId,
    token,
    createToken: (user) => admin(dbPath, "create-token", "--business", businessId, "--user", user),
    start: async () => {
      if (server.running()) return;
      // The port may be in TIME_WAIT for a moment after a kill: try for a few seconds.
      for (let attempt = 0; ; ++attempt) {
        try {
          return await launch();
        } catch (e) {
          if (attempt >= 20) throw e;
          await sleep(150);
        }
      }
    },
    stop: () => end("SIGTERM"),
    kill: () => end("SIGKILL"),
    running: () => {
      const p = child as ChildProcess | null;
      return p !== null && p.exitCode === null && p.signalCode === null;
    },
  };
  servers.add(server);
  return server;
}
const servers = new Set<AvsyncServer>();
process.on("exit", () => {
  // A failed test must not leave a server behind.
  for (const s of servers) if (s.running()) void s.kill();
});

/** Rows of a read-only query of the server's SQLite database (sqlite3 CLI, JSON mode). */
export function sqlite(dbPath: string, sql: string): Record<string, unknown>[] {
  const out = execFileSync("sqlite3", ["-readonly", "-json", dbPath, sql], { encoding: "utf8" }).trim();
  return out ? (JSON.parse(out) as Record<string, unknown>[]) : [];
}

// ---- The page's origin ---------------------------------------------------------------------

export interface StaticServer {
  /** http://127.0.0.1:PORT: another origin than the avsync-server's. */
  origin: string;
  close(): Promise<void>;
}

const testPage = `<!doctype html>
<meta charset="utf-8">
<title>avsync browser test</title>
<script type="module">
  import * as avsync from "/avsync.js";
  window.avsync = avsync;
  window.avsyncReady = true;
</script>
`;

const types: Record<string, string> = { ".js": "text/javascript", ".map": "application/json", ".html": "text/html" };

/** Serves /index.html (loads the package as window.avsync) and the files of dist-test/browser/. */
export async function startStatic(root = join(webRoot, "dist-test", "browser")): Promise<StaticServer> {
  need(join(root, "avsync.js"), "the browser bundle", "node scripts/build.mjs --tests writes it");
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (path === "/" || path === "/index.html") {
      res.writeHead(200, { "Content-Type": "text/html", "Cache-Control": "no-store" });
      return res.end(testPage);
    }
    const file = join(root, path);
    if (!file.startsWith(root) || !existsSync(file)) {
      res.writeHead(404);
      return res.end();
    }
    res.writeHead(200, { "Content-Type": types[extname(file)] ?? "application/octet-stream", "Cache-Control": "no-store" });
    res.end(readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

// ---- A proxy that can lose an answer -----------------------------------------------------

export interface Proxy {
  url: string;
  /**
   * The next POST /sync/batch reaches the server, its answer arrives, and then the client's
   * connection is destroyed without it; `onAnswered` runs before that (e.g. to kill -9 the
   * server). Resolves when that happened, with the operations the lost batch carried.
   */
  loseNextBatchAnswer(onAnswered?: () => Promise<void>): Promise<{ operations: number }>;
  /** Requests received, as "METHOD path". */
  requests: string[];
  /** The operationId of every operation of every POST /sync/batch received, repeats included. */
  sentOperationIds: string[];
  close(): Promise<void>;
}

export async function startProxy(targetPort: number): Promise<Proxy> {
  let lose: { onAnswered: () => Promise<void>; done: (r: { operations: number }) => void } | null = null;
  const requests: string[] = [];
  const sentOperationIds: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const path = new URL(req.url ?? "/", "http://x").pathname;
      requests.push(`${req.method} ${path}`);
      if (req.method === "POST" && path === "/sync/batch") {
        const ops = (JSON.parse(body.toString()) as { operations: { operationId: string }[] }).operations;
        for (const op of ops) sentOperationIds.push(op.operationId);
      }
      const victim = req.method === "POST" && path === "/sync/batch" && lose ? lose : null;
      if (victim) lose = null;
      const headers = { ...req.headers, host: `127.0.0.1:${targetPort}` };
      const upstream = http.request({ host: "127.0.0.1", port: targetPort, method: req.method, path: req.url, headers }, (answer) => {
        const parts: Buffer[] = [];
        answer.on("data", (c: Buffer) => parts.push(c));
        answer.on("end", async () => {
          if (victim) {
            await victim.onAnswered();
            req.socket.destroy();
            const operations = (JSON.parse(body.toString()) as { operations: unknown[] }).operations.length;
            victim.done({ operations });
            return;
          }
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          res.end(Buffer.concat(parts));
        });
      });
      upstream.on("error", () => req.socket.destroy()); // the server is down: so is the connection
      upstream.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    sentOperationIds,
    loseNextBatchAnswer: (onAnswered = async () => {}) =>
      new Promise((done) => {
        lose = { onAnswered, done };
      }),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

// ---- The C++ CLI, a second device of the tenant ------------------------------------------

export interface CliDevice {
  dataFile: string;
  /** Runs `avsync --data FILE --json ARGS`; throws with its output when it exits non-zero. */
  run(...args: string[]): string;
  /** Every row of ENTITY as the CLI's replica holds it (run("sync") first to see the server's). */
  list(entity: string): Record<string, unknown>[];
}

export function cliDevice(serverUrl: string, token: string): CliDevice {
  need(cliBinary, "the avsync CLI", "build it, or set AVSYNC_CLI");
  const dataFile = join(tempDir("cli"), "device.db");
  const run = (...args: string[]) => {
    try {
      return execFileSync(cliBinary, ["--data", dataFile, "--json", ...args], { encoding: "utf8" });
    } catch (e) {
      const err = e as { status?: number; stdout?: string; stderr?: string };
      throw new Error(`avsync ${args.join(" ")} exited ${err.status}: ${err.stdout ?? ""}${err.stderr ?? ""}`);
    }
  };
  run("init", "--server", serverUrl, "--token", token);
  return {
    dataFile,
    run,
    list: (entity) => JSON.parse(run(entity, "list", "--limit", "100000")) as Record<string, unknown>[],
  };
}

// ---- Chromium ------------------------------------------------------------------------------

export interface Browser {
  context: BrowserContext;
  /** A new tab at `origin`/index.html, once window.avsync is loaded. */
  openPage(origin: string): Promise<Page>;
  close(): Promise<void>;
}

export const chromiumArgs = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** A persistent context in a fresh profile: IndexedDB survives page.reload(). */
export async function launchBrowser(): Promise<Browser> {
  need(chromiumBinary, "Chromium", "install it, or set CHROMIUM");
  const profile = tempDir("chromium");
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumBinary,
    headless: true,
    args: chromiumArgs,
    timeout: 30000,
  });
  const openPage = async (origin: string) => {
    const page = await context.newPage();
    page.on("pageerror", (e) => console.error(`page error: ${e.message}`));
    await page.goto(`${origin}/index.html`);
    await page.waitForFunction(() => (window as unknown as { avsyncReady?: boolean }).avsyncReady === true);
    return page;
  };
  return { context, openPage, close: () => context.close() };
}

/** Reloads a page and waits for window.avsync again; IndexedDB stays. */
export async function reload(page: Page): Promise<void> {
  await page.reload();
  await page.waitForFunction(() => (window as unknown as { avsyncReady?: boolean }).avsyncReady === true);
}

// ---- All of it -----------------------------------------------------------------------------

export interface Env {
  static: StaticServer;
  server: AvsyncServer;
  browser: Browser;
  openPage(): Promise<Page>;
  cliDevice(): CliDevice;
  close(): Promise<void>;
}

/** A static server, an avsync-server allowing its origin, and Chromium; close() ends all three. */
export async function setup(options: { serverArgs?: string[] } = {}): Promise<Env> {
  const stat = await startStatic();
  const serverOptions: ServerOptions = { corsOrigins: [stat.origin] };
  if (options.serverArgs) serverOptions.args = options.serverArgs;
  const server = await startServer(serverOptions);
  let browser: Browser;
  try {
    browser = await launchBrowser();
  } catch (e) {
    await server.kill();
    await stat.close();
    throw e;
  }
  return {
    static: stat,
    server,
    browser,
    openPage: () => browser.openPage(stat.origin),
    cliDevice: () => cliDevice(server.url, server.createToken(`cli-${Math.random().toString(36).slice(2, 8)}`)),
    close: async () => {
      await browser.close().catch(() => {});
      await server.stop();
      await stat.close();
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
