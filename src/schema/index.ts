import { builder } from './builder.js';
import './user.js';
import './conversation.js';
import './message.js';
import './node.js';

export const schema = builder.toSchema();
