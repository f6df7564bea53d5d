import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// Libraries go through their entry points.
const ENTRY_POINTS = {
  group: ['**/libs/*/src/**', '../../libs/**', '../../../libs/**'],
  message: 'Import a library through its entry point: #libs/<name>.',
};
// The clients of Postgres, Redis and the queue belong to repositories (and the modules that
// provide them): services, controllers and transports ask a repository.
const INFRASTRUCTURE_PACKAGES = {
  group: ['ioredis', 'bullmq', 'pg', 'pg-copy-streams', '@prisma/*'],
  message: 'Only repositories (*.repository.ts) and their modules touch Postgres, Redis or BullMQ: ask a repository.',
};
const INFRASTRUCTURE_CLIENTS = [
  { name: '#libs/persistence', importNames: ['PrismaService'], message: 'Only repositories query Postgres: ask a repository.' },
  { name: '#libs/redis', importNames: ['RedisService', 'createRedis'], message: 'Only repositories talk to Redis: ask a repository.' },
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'libs/persistence/src/generated/**', 'coverage/**', '.bench/**', 'examples/python/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      '@typescript-eslint/only-throw-error': 'off',
      'no-restricted-imports': ['error', { paths: INFRASTRUCTURE_CLIENTS, patterns: [ENTRY_POINTS, INFRASTRUCTURE_PACKAGES] }],
    },
  },
  {
    // Where the clients may be used: repositories and the modules providing them, the libraries
    // that own the connections (persistence, redis), the two ends of the audit queue (its BullMQ
    // producer and worker), and code outside the gateway (tests, bench, scripts, tools).
    files: [
      '**/*.repository.ts',
      '**/*.module.ts',
      'libs/persistence/**',
      'libs/redis/**',
      'libs/audit/src/queue-audit-trail.ts',
      'libs/audit/src/audit-writer.service.ts',
      'test/**',
      'bench/**',
      'scripts/**',
      'examples/**',
      '**/*.spec.ts',
      '**/*.medium-spec.ts',
    ],
    rules: { 'no-restricted-imports': ['error', { patterns: [ENTRY_POINTS] }] },
  },
  {
    // `expect.any(String)` and friends are typed `any`; in assertions that is what they are for.
    files: ['test/**/*.ts', '**/*.spec.ts', '**/*.medium-spec.ts'],
    rules: { '@typescript-eslint/no-unsafe-assignment': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, globals: globals.node },
  },
);
