// Copies the Vazirmatn web fonts from the npm package into static/fonts/ (run by `npm run fonts`
// after `npm ci`; the UI never loads fonts from a remote URL).
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const source = join(here, "node_modules", "vazirmatn");
const target = join(here, "static", "fonts");
const files = [
  ["fonts/webfonts/Vazirmatn-Regular.woff2", "Vazirmatn-Regular.woff2"],
  ["fonts/webfonts/Vazirmatn-Bold.woff2", "Vazirmatn-Bold.woff2"],
  ["OFL.txt", "Vazirmatn-OFL.txt"],
];

mkdirSync(target, { recursive: true });
for (const [from, to] of files) {
  copyFileSync(join(source, from), join(target, to));
  console.log(`static/fonts/${to}`);
}
