// Builds the package (dist/), its type declarations (dist/types/), the demo app
// (dist/demo/, served by `avsync-server serve --demo`) and, with --tests, the Node tests
// (dist-test/). esbuild bundles; tsc only checks types and writes declarations.
//
//   node scripts/build.mjs [--tests] [--no-types]
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const dist = join(root, "dist");
const common = { bundle: true, format: "esm", target: "es2022", sourcemap: true, logLevel: "warning", absWorkingDir: root };

rmSync(dist, { recursive: true, force: true });

// The package: what an app imports. Its dependencies (idb, react) stay imports.
await esbuild.build({
  ...common,
  entryPoints: { index: "src/index.ts", react: "src/react.ts", "service-worker": "src/service-worker.ts" },
  outdir: dist,
  platform: "browser",
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  packages: "external",
});

// The demo: one self-contained page and its Service Worker.
mkdirSync(join(dist, "demo"), { recursive: true });
await esbuild.build({
  ...common,
  entryPoints: { demo: "demo/main.tsx", sw: "demo/sw.ts" },
  outdir: join(dist, "demo"),
  platform: "browser",
  minify: true,
  jsx: "automatic",
  define: { "process.env.NODE_ENV": '"production"' },
});
for (const file of ["index.html", "demo.css"]) cpSync(join(root, "demo", file), join(dist, "demo", file));

if (!args.includes("--no-types")) {
  execFileSync(join(root, "node_modules", ".bin", "tsc"), ["-p", root], { stdio: "inherit" });
}

if (args.includes("--tests")) {
  const out = join(root, "dist-test");
  rmSync(out, { recursive: true, force: true });
  const entries = {};
  for (const dir of ["unit", "integration", "e2e"]) {
    for (const f of readdirSync(join(root, "test", dir)))
      if (f.endsWith(".test.ts")) entries[`${dir}/${f.replace(/\.ts$/, "")}`] = `test/${dir}/${f}`;
  }
  for (const f of readdirSync(join(root, "bench"))) if (f.endsWith(".ts")) entries[`bench/${f.replace(/\.ts$/, "")}`] = `bench/${f}`;
  await esbuild.build({ ...common, entryPoints: entries, outdir: out, platform: "node", packages: "external", outExtension: { ".js": ".mjs" } });
  // The page the browser tests and the benchmark load: the package bundled for a browser.
  await esbuild.build({ ...common, entryPoints: { "browser/avsync": "src/index.ts" }, outdir: out, platform: "browser" });
}
