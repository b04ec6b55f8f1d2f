// After tsup: ship the stylesheet. (crates/http embeds dist/connect.js itself;
// `cargo xtask codegen --check` fails when dist/ is stale.)
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
mkdirSync(join(root, "dist/styles"), { recursive: true });
copyFileSync(join(root, "src/styles/index.css"), join(root, "dist/styles/index.css"));
const size = readFileSync(join(root, "dist/connect.js")).length;
console.log(`postbuild: dist/styles/index.css; dist/connect.js is ${size} bytes`);
