/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The same build serves the Tauri window and `sluice serve`; relative asset paths keep it
// working under both.
export default defineConfig({
  base: "./",
  plugins: [react()],
  server: { port: 1420, strictPort: true },
  build: { outDir: "dist", target: "es2022", chunkSizeWarningLimit: 2000 },
  test: {
    environment: "jsdom",
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
  },
});
