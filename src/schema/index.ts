import { builder } from './builder.js';
import './user.js';
import './conversation.js';
import './conversationEvent.js';
import './message.js';
import './replies.js';
import './mentions.js';
import './search.js';
import './messageEvent.js';
import './typing.js';
import './presence.js';
import './groupAdmin.js';
import './readMarker.js';
import './account.js';
import './block.js';
import './push.js';
import './node.js';

export const schema = builder.toSchema();
