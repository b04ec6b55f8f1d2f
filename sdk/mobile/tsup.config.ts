import { defineConfig } from "tsup";

// Deterministic output (no timestamps, no source maps with absolute paths): `cargo xtask ci`
// rebuilds dist/ and fails when it differs from the committed files.
export default defineConfig({
  entry: ["src/index.ts"],
  format: ["cjs", "esm"],
  dts: true,
  clean: true,
  sourcemap: false,
  splitting: false,
  treeshake: false,
  minify: false,
  target: "es2019",
  platform: "neutral",
  outDir: "dist",
  external: ["react", "react-native", "react-native-webview", "react/jsx-runtime"],
  tsconfig: "tsconfig.build.json",
});
