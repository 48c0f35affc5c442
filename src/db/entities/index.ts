export { Attachment, type AttachmentKind } from './Attachment.js';
export { Conversation, type ConversationKind } from './Conversation.js';
export { EventSequence } from './EventSequence.js';
export { Membership, type MemberRole } from './Membership.js';
export { Message, GENERATION_STATES, type GenerationState } from './Message.js';
export { MessageMention } from './MessageMention.js';
export { MessageEvent, MESSAGE_EVENT_KINDS, type MessageEventKind } from './MessageEvent.js';
export { Reaction } from './Reaction.js';
export { User } from './User.js';
export { Session } from './Session.js';
export { Block } from './Block.js';

import { Attachment } from './Attachment.js';
import { Conversation } from './Conversation.js';
import { EventSequence } from './EventSequence.js';
import { Membership } from './Membership.js';
import { Message } from './Message.js';
import { MessageMention } from './MessageMention.js';
import { MessageEvent } from './MessageEvent.js';
import { Reaction } from './Reaction.js';
import { User } from './User.js';
import { Session } from './Session.js';
import { Block } from './Block.js';
import { pushEntities } from '../../push/entities.js';
import { botEntities } from '../../bots/entities.js';
import { assistantEntities } from '../../assistant/entities.js';

export const entities = [
  User,
  Conversation,
  Membership,
  Message,
  Reaction,
  MessageEvent,
  EventSequence,
  Session,
  Block,
  MessageMention,
  Attachment,
  ...pushEntities,
  ...botEntities,
  ...assistantEntities,
];
