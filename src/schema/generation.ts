// Message.generation: the state of an assistant's reply while and after it is
// generated; null for every other message. Authorized with the message itself
// (MessageRef checks conversation membership for every field).
import { GENERATION_STATES } from '../db/entities/index.js';
import { builder } from './builder.js';
import { MessageRef } from './message.js';

export const GenerationStateEnum = builder.enumType('GenerationState', {
  values: {
    THINKING: { description: "Waiting for the model's first token." },
    GENERATING: { description: 'Tokens are arriving: the body grows through EDITED events.' },
    DONE: {},
    STOPPED: { description: 'stopGeneration was called: the body holds what was generated until then.' },
    FAILED: { description: 'The model failed or timed out; the body says so in words for people.' },
  } satisfies Record<(typeof GENERATION_STATES)[number], { description?: string }>,
});

builder.objectFields(MessageRef, (t) => ({
  generation: t.field({
    type: GenerationStateEnum,
    nullable: true,
    description: "Set on the assistant's replies while and after they are generated; null otherwise.",
    resolve: (message) => message.generation,
  }),
}));
