// Copy the pinned release files of the vendored libraries from node_modules (installed from
// the npm registry by `npm install`) into web/vendor/<name>-<version>/.
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const web = join(dirname(fileURLToPath(import.meta.url)), "..");
const FILES = {
  htm: [
    ["preact/standalone.module.js", "preact-standalone.module.js"],
    ["LICENSE", "LICENSE-htm.txt"],
  ],
};
for (const [name, files] of Object.entries(FILES)) {
  const from = join(web, "node_modules", name);
  const { version } = JSON.parse(readFileSync(join(from, "package.json"), "utf8"));
  const to = join(web, "vendor", `${name}-${version}`);
  mkdirSync(to, { recursive: true });
  for (const [source, target] of files) copyFileSync(join(from, source), join(to, target));
  console.log(`vendored ${name}@${version} into ${to}`);
}
