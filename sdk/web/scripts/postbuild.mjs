// After tsup: ship the stylesheet, and hand the built connect.js to the server's assets
// (crates/http embeds it; `cargo xtask codegen --check` fails when either copy is stale).
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
mkdirSync(join(root, "dist/styles"), { recursive: true });
copyFileSync(join(root, "src/styles/index.css"), join(root, "dist/styles/index.css"));
copyFileSync(join(root, "dist/connect.js"), join(root, "../../crates/http/assets/connect.js"));
const size = readFileSync(join(root, "dist/connect.js")).length;
console.log(`postbuild: dist/styles/index.css, crates/http/assets/connect.js (${size} bytes)`);
