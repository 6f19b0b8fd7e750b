import js from "@eslint/js";
import pluginVue from "eslint-plugin-vue";
import tseslint from "typescript-eslint";
import vueParser from "vue-eslint-parser";

/** Packages each workspace may not import: the dependency direction (protocol at the bottom). */
const layers = {
  "packages/protocol/src/**": ["@notesync/*"],
  "packages/crsqlite-native/src/**": ["@notesync/*"],
  "packages/client-core/src/**": ["@notesync/server*", "@notesync/web*"],
  "packages/server/src/**": ["@notesync/client-core*", "@notesync/web*"],
  "packages/import/src/**": ["@notesync/client-core*", "@notesync/web*"],
  "packages/web/src/**": [
    "@notesync/server*",
    "@notesync/crsqlite-native*",
    "@notesync/client-core/node",
  ],
};
const importRules = Object.entries(layers).map(([files, banned]) => ({
  files: [files],
  ignores: ["**/*.test.ts", "**/*.test-helpers.ts"],
  rules: {
    "no-restricted-imports": [
      "error",
      {
        patterns: [
          {
            group: banned,
            message:
              "Against the dependency direction (README, Architecture): protocol <- crsqlite-native, client-core, server <- web.",
          },
        ],
      },
    ],
  },
}));

export default tseslint.config(
  {
    ignores: [
      "**/dist/**",
      "**/node_modules/**",
      "**/.turbo/**",
      "packages/crsqlite-native/native/**",
      "e2e/artifacts/**",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...pluginVue.configs["flat/recommended"],
  {
    files: ["**/*.ts", "**/*.vue"],
    extends: [...tseslint.configs.recommendedTypeCheckedOnly],
    languageOptions: {
      parserOptions: {
        projectService: {
          allowDefaultProject: ["packages/*/vitest.config.ts"],
        },
        tsconfigRootDir: import.meta.dirname,
        extraFileExtensions: [".vue"],
      },
    },
    rules: {
      // Adapters implement async interfaces with synchronous drivers (better-sqlite3).
      "@typescript-eslint/require-await": "off",
      // Y.Text prints its text.
      "@typescript-eslint/no-base-to-string": ["error", { ignoredTypeNames: ["Text", "YText"] }],
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": [
        "error",
        { checksVoidReturn: { arguments: false } },
      ],
    },
  },
  {
    files: ["**/*.vue"],
    languageOptions: {
      parser: vueParser,
      parserOptions: {
        parser: tseslint.parser,
        extraFileExtensions: [".vue"],
        sourceType: "module",
      },
      globals: {
        window: "readonly",
        document: "readonly",
        navigator: "readonly",
        setInterval: "readonly",
        clearInterval: "readonly",
      },
    },
    rules: {
      // Prettier formats templates; these rules would fight it.
      "vue/max-attributes-per-line": "off",
      "vue/singleline-html-element-content-newline": "off",
      "vue/multiline-html-element-content-newline": "off",
      "vue/html-self-closing": "off",
      "vue/html-indent": "off",
      "vue/html-closing-bracket-newline": "off",
    },
  },
  {
    languageOptions: {
      globals: {
        console: "readonly",
        process: "readonly",
        URL: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
      },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_" },
      ],
      "no-restricted-syntax": [
        "error",
        {
          selector:
            "CallExpression > MemberExpression[object.name=/^(it|describe|test)$/][property.name=/^(only|skip)$/]",
          message: "Focused and skipped tests do not run in CI: remove .only / .skip.",
        },
      ],
    },
  },
  ...importRules,
  {
    files: ["packages/web/src/sw-template.js"],
    languageOptions: {
      globals: {
        self: "readonly",
        caches: "readonly",
        fetch: "readonly",
        URL: "readonly",
        Response: "readonly",
        console: "readonly",
        __PRECACHE__: "readonly",
        __VERSION__: "readonly",
      },
    },
  },
  {
    files: ["**/*.cjs"],
    languageOptions: {
      sourceType: "commonjs",
      globals: {
        require: "readonly",
        module: "writable",
        process: "readonly",
        console: "readonly",
      },
    },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    files: ["packages/crsqlite-native/scripts/**"],
    languageOptions: { globals: { process: "readonly", console: "readonly" } },
  },
);
