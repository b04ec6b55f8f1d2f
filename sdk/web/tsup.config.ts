import { readFileSync } from "node:fs";
import { defineConfig, type Options } from "tsup";

const pkg = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8")) as { version: string };

const common: Options = {
  target: "es2019",
  platform: "browser",
  sourcemap: false,
  minify: false,
  splitting: false,
  treeshake: false,
  // `import text from "./x.css?raw"` (as Vite does in the tests): the file's text.
  loader: { ".css": "text" },
};

export default defineConfig([
  {
    ...common,
    entry: { index: "src/index.ts" },
    format: ["esm", "cjs"],
    dts: true,
    clean: true,
    external: ["react", "react-dom"],
    outExtension: ({ format }) => ({ js: format === "cjs" ? ".cjs" : ".js" }),
    // Client components (context, hooks): Next.js App Router needs the directive first.
    banner: { js: `"use client";\n/*! @kryptos_connect/web-sdk ${pkg.version} — generated from sdk/web/src; do not edit. */` },
  },
  {
    ...common,
    entry: { connect: "src/global.ts" },
    format: ["iife"],
    dts: false,
    clean: false,
    outExtension: () => ({ js: ".js" }),
    banner: {
      js:
        `/*! Kryptos Connect browser SDK ${pkg.version} — served at /sdk/connect.js, typed by /sdk/connect.d.ts.\n` +
        ` *  Generated from sdk/web/src (the same core as @kryptos_connect/web-sdk); do not edit. */`,
    },
  },
]);
