/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  transform: {
    "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json", diagnostics: { warnOnly: false } }],
  },
  moduleFileExtensions: ["ts", "js", "json"],
  testMatch: [
    "<rootDir>/test/**/*.test.ts",
    "<rootDir>/filters/**/*.test.ts",
    "<rootDir>/tools/**/*.test.ts",
  ],
  testPathIgnorePatterns: ["/node_modules/", "/dist/", "/build/"],
  globalSetup: "<rootDir>/test/support/global-setup.ts",
  maxWorkers: 2,
  testTimeout: 60000,
};
