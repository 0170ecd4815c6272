// Lints the Node-side TypeScript (emulator, CLI, harness, tests, bench). AssemblyScript under assembly/
// and filters/*/ (non-test) is type-checked by the AssemblyScript compiler instead (`npm run check:as`):
// its types (u32, usize, ...) and decorators are not TypeScript.
const js = require("@eslint/js");
const tseslint = require("typescript-eslint");

module.exports = tseslint.config(
  {
    ignores: [
      "node_modules/**",
      "build/**",
      "dist/**",
      ".tools/**",
      ".run/**",
      "assembly/**",
      "filters/*/index.ts",
      "filters/*/src/**",
      "filters/*/src/**",
      "test/sdk/guests/**",
      "**/*.js",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.test.ts", "filters/**/*.test.ts"],
  },
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-non-null-assertion": "off",
      "no-constant-condition": ["error", { checkLoops: false }],
    },
  },
);
