import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "coverage/", "scripts/", ".ci/", "bench/**/*.mjs", "bench/**/*.cjs"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: ["@aws-sdk/client-s3", "@aws-sdk/lib-storage"], message: "Only src/storage/s3 may import the AWS SDK." }] },
      ],
    },
  },
  {
    files: ["src/storage/s3/**"],
    rules: { "no-restricted-imports": "off" },
  },
  {
    files: ["eslint.config.js", "vitest.config.ts"],
    ...tseslint.configs.disableTypeChecked,
  },
);
