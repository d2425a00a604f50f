import { defineConfig } from "vite";

// The relay serves the built files from ui/dist; `npm run dev` proxies to a local relay.
export default defineConfig({
  build: {
    outDir: "dist",
    emptyOutDir: true,
    rollupOptions: { input: { main: "index.html", capture: "capture.html", login: "login.html", pair: "pair.html" } },
  },
  worker: { format: "es" },
  server: {
    proxy: {
      "/api": "http://127.0.0.1:3000",
      "/stream/ws": { target: "ws://127.0.0.1:3000", ws: true },
      "/audio": { target: "ws://127.0.0.1:3000", ws: true },
      "/ws": { target: "ws://127.0.0.1:3000", ws: true },
    },
  },
  test: { include: ["test/**/*.test.ts"], environment: "node" },
} as any);
