// Writes the configuration table of docs/configuration.md from the schema (npm run docs:config).
import { readFileSync, writeFileSync } from 'node:fs';
import { replaceConfigTable } from '#libs/config';

const page = new URL('../docs/configuration.md', import.meta.url);
writeFileSync(page, replaceConfigTable(readFileSync(page, 'utf8')));
