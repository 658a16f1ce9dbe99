// Trunk post-build hook (see Trunk.toml): minifies wasm-bindgen's JS glue in release
// builds and updates its Subresource Integrity hash in index.html.
//
// Why not Trunk's own `minify = "on_release"`: its JS minifier (minify-js) cannot parse
// the glue's `export { initSync, __wbg_init as default }`, warns, and leaves the file
// as it was. terser (npm, pinned in package.json) handles it: ~61 KB -> ~28 KB raw.
// Trunk has already written the glue's `integrity="sha384-..."` into index.html by the
// time post-build hooks run, so the hash is recomputed here, or the browser would
// refuse the script.

import { createHash } from "node:crypto";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { minify } from "terser";

if (process.env.TRUNK_PROFILE !== "release") {
  process.exit(0); // the dev loop keeps readable glue
}

const staging = process.env.TRUNK_STAGING_DIR;
if (!staging) {
  console.error("minify-glue: TRUNK_STAGING_DIR is not set (run me as a Trunk hook)");
  process.exit(1);
}

const sri = (bytes) => "sha384-" + createHash("sha384").update(bytes).digest("base64");

const htmlPath = join(staging, "index.html");
let html = await readFile(htmlPath, "utf8");
const glue = (await readdir(staging)).filter((name) => name.endsWith(".js"));
if (glue.length === 0) {
  console.error("minify-glue: no .js file in the staging directory");
  process.exit(1);
}

for (const name of glue) {
  const path = join(staging, name);
  const original = await readFile(path);
  // `module`: the glue is an ES module; exported names (init, the wasm-streams
  // classes) and the import object's keys (property names) are left as they are.
  const result = await minify(original.toString("utf8"), {
    module: true,
    ecma: 2020,
    compress: true,
    mangle: true,
  });
  const minified = Buffer.from(result.code, "utf8");
  const before = sri(original);
  if (!html.includes(before)) {
    console.error(`minify-glue: index.html has no integrity ${before} for ${name}`);
    process.exit(1);
  }
  html = html.replaceAll(before, sri(minified));
  await writeFile(path, minified);
  console.log(`minify-glue: ${name} ${original.length} -> ${minified.length} bytes`);
}
await writeFile(htmlPath, html);
