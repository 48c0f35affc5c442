import { builder } from './builder.js';
import './user.js';
import './conversation.js';
import './conversationEvent.js';
import './message.js';
import './messageEvent.js';
import './attachment.js';
import './typing.js';
import './presence.js';
import './node.js';

export const schema = builder.toSchema();
