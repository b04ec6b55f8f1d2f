const path = require("path");

// One copy of React for the package, react-native and the test renderer (the npm workspace
// may hoist another React version for the web SDK).
const reactDir = path.dirname(require.resolve("react/package.json"));

/** @type {import('jest').Config} */
module.exports = {
  preset: "@react-native/jest-preset",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts?(x)"],
  setupFiles: ["<rootDir>/test/setup.js"],
  // A cold transform cache (a fresh clone on a 2-core CI machine) makes the first test of a
  // file slow: react-native's sources are transformed on first use.
  testTimeout: 30000,
  moduleNameMapper: {
    "^react$": reactDir,
    "^react/(.*)$": `${reactDir}/$1`,
  },
};
