// Every migration, in order. Listed explicitly so they load the same under tsx,
// the test runner and a compiled build.
import { InitialSchema1795000000000 } from './1795000000000-InitialSchema.js';
import { IdempotencyPerConversation1795100000000 } from './1795100000000-IdempotencyPerConversation.js';
import { Attachments1796000000000 } from './1796000000000-Attachments.js';

export const migrations = [
  InitialSchema1795000000000,
  IdempotencyPerConversation1795100000000,
  Attachments1796000000000,
];
