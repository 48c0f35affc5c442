// Every migration, in order. Listed explicitly so they load the same under tsx,
// the test runner and a compiled build.
import { InitialSchema1795000000000 } from './1795000000000-InitialSchema.js';
import { IdempotencyPerConversation1795100000000 } from './1795100000000-IdempotencyPerConversation.js';
import { Attachments1796000000000 } from './1796000000000-Attachments.js';
import { GroupsAndSessions1796100000000 } from './1796100000000-GroupsAndSessions.js';
import { RepliesMentionsSearch1796200000000 } from './1796200000000-RepliesMentionsSearch.js';
import { PushNotifications1796400000000 } from './1796400000000-PushNotifications.js';
import { BotAccounts1796500000000 } from './1796500000000-BotAccounts.js';
import { Bots1796600000000 } from './1796600000000-Bots.js';
import { Assistant1796700000000 } from './1796700000000-Assistant.js';
import { SearchTermsPerConversation1796800000000 } from './1796800000000-SearchTermsPerConversation.js';

export const migrations = [
  InitialSchema1795000000000,
  IdempotencyPerConversation1795100000000,
  Attachments1796000000000,
  GroupsAndSessions1796100000000,
  RepliesMentionsSearch1796200000000,
  PushNotifications1796400000000,
  BotAccounts1796500000000,
  Bots1796600000000,
  Assistant1796700000000,
  SearchTermsPerConversation1796800000000,
];
