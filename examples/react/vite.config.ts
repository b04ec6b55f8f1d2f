import { defineConfig, loadEnv } from "vite";
import react from "@vitejs/plugin-react";

// `npm run dev` serves the app on :5173 and forwards /api to examples/backend
// (BACKEND_URL, default http://127.0.0.1:3000); `npm run build` writes dist/ for the
// backend to serve itself (STATIC_DIR).
export default defineConfig(({ mode }) => {
  const env = loadEnv(mode, ".", "");
  return {
    plugins: [react()],
    resolve: {
      // The SDK is linked from ../../sdk/web: resolve its React peer from this app, so the
      // page has exactly one copy of React.
      dedupe: ["react", "react-dom"],
    },
    server: {
      proxy: { "/api": env.BACKEND_URL || "http://127.0.0.1:3000" },
    },
  };
});
