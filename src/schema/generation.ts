// Message.generation: the state of an assistant's reply while and after it is
// generated; null for every other message. Authorized with the message itself
// (MessageRef checks conversation membership for every field). stopGeneration
// ends a reply still being generated (assistant/index.ts).
import { stopGeneration } from '../assistant/index.js';
import { GENERATION_STATES } from '../db/entities/index.js';
import { builder } from './builder.js';
import { MessageRef, requireVisibleMessage } from './message.js';

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

builder.mutationFields((t) => ({
  stopGeneration: t.field({
    type: MessageRef,
    authScopes: { authenticated: true },
    description:
      "Any member: ends the assistant's generation of that message (upstream request aborted). The message is\nSTOPPED with the text generated so far; one already finished comes back unchanged. NOT_FOUND for non-members.",
    args: { messageId: t.arg.id({ required: true }) },
    resolve: async (_root, args, context) => {
      const message = await requireVisibleMessage(context, String(args.messageId));
      const stopped = await stopGeneration(context.dataSource, context.realtime, message);
      context.loaders.message.clear(message.id);
      return stopped;
    },
  }),
}));
