import { resolve } from "node:path";
import { defineConfig } from "vite";

// The launcher script a company embeds (<script src=".../widget.js" data-workgroup="sales">).
// One small self-contained file, no framework: it draws the button and opens the iframe.
export default defineConfig({
  build: {
    outDir: resolve(__dirname, "../src/parley/web/static"),
    emptyOutDir: false,
    target: "es2018",
    lib: {
      entry: resolve(__dirname, "src/widget/loader.ts"),
      formats: ["iife"],
      name: "ParleyWidget",
      fileName: () => "widget.js",
    },
  },
});
