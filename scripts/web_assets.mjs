// The web console's static files into dist/web beside its compiled modules:
// the page and its style from src/web, xterm.js and its fit addon from
// node_modules (the page maps their names with an import map), so the host
// serves them with no build step at run time.
import { copyFileSync, mkdirSync } from "node:fs";

const out = "dist/web";
mkdirSync(`${out}/vendor`, { recursive: true });
for (const f of ["index.html", "style.css"]) copyFileSync(`src/web/${f}`, `${out}/${f}`);
copyFileSync("node_modules/@xterm/xterm/lib/xterm.mjs", `${out}/vendor/xterm.mjs`);
copyFileSync("node_modules/@xterm/xterm/css/xterm.css", `${out}/vendor/xterm.css`);
copyFileSync("node_modules/@xterm/addon-fit/lib/addon-fit.mjs", `${out}/vendor/addon-fit.mjs`);
