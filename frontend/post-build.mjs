// Trunk post-build hook (see Trunk.toml), release builds only: minify the JS glue
// (minify-glue.mjs), then write the precompressed copies the backend serves
// (precompress.mjs). One hook doing both in this order, because Trunk starts all the
// hooks of a stage at once, and the compressed copies must be of the final files.
// The dev loop keeps readable glue and skips compression.

import { minifyGlue } from "./minify-glue.mjs";
import { precompress } from "./precompress.mjs";

if (process.env.TRUNK_PROFILE !== "release") {
  process.exit(0);
}
const staging = process.env.TRUNK_STAGING_DIR;
if (!staging) {
  console.error("post-build: TRUNK_STAGING_DIR is not set (run me as a Trunk hook)");
  process.exit(1);
}
try {
  await minifyGlue(staging);
  await precompress(staging);
} catch (error) {
  console.error(error.message);
  process.exit(1);
}
