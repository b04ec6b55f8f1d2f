import { defineConfig } from "vitest/config";

export default defineConfig({
  // The tests' own JSX (the package itself calls React.createElement, for React >= 16.8).
  oxc: { jsx: { runtime: "automatic" } },
  test: {
    environment: "jsdom",
    include: ["test/**/*.test.{ts,tsx}"],
    testTimeout: 60000,
  },
});
