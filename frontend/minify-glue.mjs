// Minifies wasm-bindgen's JS glue of a release build and updates its Subresource
// Integrity hash in index.html. Run by the post-build hook (post-build.mjs).
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

const sri = (bytes) => "sha384-" + createHash("sha384").update(bytes).digest("base64");

/**
 * Minifies every top-level `.js` file of `dir` and fixes its hash in `dir/index.html`.
 * The page's glue is an ES module that index.html loads with an integrity hash; the
 * worker's glue and its loader (`data-type="worker"`) are classic scripts that the page
 * starts by name, without a hash: their top-level names (`wasm_bindgen`) stay.
 */
export async function minifyGlue(dir) {
  const htmlPath = join(dir, "index.html");
  let html = await readFile(htmlPath, "utf8");
  const glue = (await readdir(dir)).filter((name) => name.endsWith(".js"));
  if (glue.length === 0) {
    throw new Error("minify-glue: no .js file in the staging directory");
  }
  for (const name of glue) {
    const path = join(dir, name);
    const original = await readFile(path);
    const before = sri(original);
    const module = html.includes(before);
    const isWorker = name.startsWith("lab-worker") || name.startsWith("lab-custom-worker");
    if (!module && !isWorker) {
      throw new Error(`minify-glue: index.html has no integrity ${before} for ${name}`);
    }
    // The module's exported names (init, the wasm-streams classes) and the import
    // object's keys (property names) are left as they are; so are a script's globals.
    const result = await minify(original.toString("utf8"), {
      module,
      ecma: 2020,
      compress: true,
      mangle: true,
    });
    const minified = Buffer.from(result.code, "utf8");
    if (module) {
      html = html.replaceAll(before, sri(minified));
    }
    await writeFile(path, minified);
    console.log(`minify-glue: ${name} ${original.length} -> ${minified.length} bytes`);
  }
  await writeFile(htmlPath, html);
}
