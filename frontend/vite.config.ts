import { resolve } from "node:path";
import { defineConfig } from "vitest/config";

// The iframe chat app and the console: Preact + TypeScript, built into the Python package,
// which serves them under /static/ (see src/parley/web/app.py).
export default defineConfig({
  root: resolve(__dirname, "src"),
  base: "/static/",
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    outDir: resolve(__dirname, "../src/parley/web/static"),
    emptyOutDir: true,
    target: "es2020",
    rollupOptions: {
      input: {
        widget: resolve(__dirname, "src/widget/index.html"),
        console: resolve(__dirname, "src/console/index.html"),
      },
    },
  },
  test: {
    root: __dirname,
    environment: "jsdom",
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
  },
});
