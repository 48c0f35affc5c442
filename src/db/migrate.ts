// `npm run db:migrate`: applies pending migrations and exits.
import 'reflect-metadata';
import { loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { openDatabase } from './dataSource.js';

const config = loadConfig();
const dataSource = await openDatabase(config, createLogger(config));
await dataSource.destroy();
