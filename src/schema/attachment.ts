// File sharing (issue #12): the File scalar, Attachment, Query.limits,
// uploadAttachment and Message.attachments. The upload itself is read by
// attachments/multipart.ts; the bytes are judged by attachments/processing.ts.
import { rm } from 'node:fs/promises';
import { GraphQLError } from 'graphql';
import { MAX_ATTACHMENTS_PER_MESSAGE } from '../attachments/claim.js';
import { UPLOAD_TOKEN_PREFIX } from '../attachments/multipart.js';
import { prepareUpload } from '../attachments/processing.js';
import { messageAttachmentsLoader } from '../db/attachments.js';
import { Attachment } from '../db/entities/index.js';
import { badUserInput, payloadTooLarge, unauthenticated } from '../errors.js';
import { builder } from './builder.js';
import { requireMemberConversationId } from './conversation.js';
import { MESSAGE_BODY_MAX } from './limits.js';
import { MessageRef } from './message.js';

/** The value of a File variable: the token multipart.ts put in place of the part. */
builder.scalarType('File', {
  description: 'A file uploaded with the GraphQL multipart request spec.',
  serialize: () => {
    throw new GraphQLError('File is an input only.');
  },
  parseValue: (value) => {
    if (typeof value !== 'string' || !value.startsWith(UPLOAD_TOKEN_PREFIX)) {
      throw new GraphQLError('File must be sent as a part of a multipart request.');
    }
    return value;
  },
  parseLiteral: () => {
    throw new GraphQLError('File must be sent as a part of a multipart request.');
  },
});

const AttachmentKindEnum = builder.enumType('AttachmentKind', {
  values: {
    IMAGE: {
      description: 'A JPEG, PNG, GIF or WebP image that the server decoded: it has width, height and a thumbnail.',
    },
    FILE: { description: 'Anything else: served only as a download, never rendered inline.' },
  } as const,
});

export const AttachmentRef = builder.node(builder.objectRef<Attachment>('Attachment'), {
  id: { resolve: (attachment) => attachment.id },
  isTypeOf: (value) => value instanceof Attachment,
  // The conversation's data: members only, as Message.
  authScopes: (attachment) => ({ conversationMember: attachment.conversationId }),
  fields: (t) => ({
    kind: t.field({ type: AttachmentKindEnum, resolve: (attachment) => attachment.kind }),
    filename: t.exposeString('filename', { description: "The uploaded file's name, without any directory part." }),
    contentType: t.exposeString('contentType', {
      description: "Detected from the file's content, not from the client's claim.",
    }),
    byteSize: t.exposeInt('byteSize'),
    width: t.exposeInt('width', { nullable: true, description: 'IMAGE only, after applying the EXIF orientation.' }),
    height: t.exposeInt('height', { nullable: true }),
    url: t.string({
      description:
        "Downloads the file without an Authorization header (so an <img> or <a> can use\nit): absolute, or relative to the server's origin. It is signed for the\ncaller, expires, and stops working once the caller may no longer see the\nmessage. An IMAGE is served without its EXIF metadata.",
      // Signed for the viewer read here, so a shared subscription result is never handed to another viewer.
      resolve: (attachment, _args, context) =>
        context.attachments.signer.url(attachment.id, 'file', context.viewer!.id),
    }),
    thumbnailUrl: t.string({
      nullable: true,
      description: 'IMAGE only: at most 512 px on its longer side.',
      resolve: (attachment, _args, context) =>
        attachment.thumbnailKey === null
          ? null
          : context.attachments.signer.url(attachment.id, 'thumbnail', context.viewer!.id),
    }),
  }),
});

builder.objectField(MessageRef, 'attachments', (t) =>
  t.field({
    type: [AttachmentRef],
    description: 'Empty once the message is deleted (the files are deleted too).',
    resolve: (message, _args, context) =>
      message.deletedAt ? [] : messageAttachmentsLoader(context.dataSource, context.loaders).load(message.id),
  }),
);

const LimitsRef = builder
  .objectRef<{ maxUploadBytes: number; maxAttachmentsPerMessage: number; maxMessageLength: number }>('Limits')
  .implement({
    fields: (t) => ({
      maxUploadBytes: t.exposeInt('maxUploadBytes'),
      maxAttachmentsPerMessage: t.exposeInt('maxAttachmentsPerMessage'),
      maxMessageLength: t.exposeInt('maxMessageLength'),
    }),
  });

builder.queryField('limits', (t) =>
  t.field({
    type: LimitsRef,
    resolve: (_root, _args, context) => ({
      maxUploadBytes: context.attachments.maxUploadBytes,
      maxAttachmentsPerMessage: MAX_ATTACHMENTS_PER_MESSAGE,
      maxMessageLength: MESSAGE_BODY_MAX,
    }),
  }),
);

builder.mutationField('uploadAttachment', (t) =>
  t.field({
    type: AttachmentRef,
    authScopes: { authenticated: true },
    description:
      'Member only. The upload waits for a sendMessage of the caller in that conversation; unsent ones are deleted after 24 hours.',
    args: { conversationId: t.arg.id({ required: true }), file: t.arg({ type: 'File', required: true }) },
    resolve: async (_root, args, context) => {
      if (!context.viewer) throw unauthenticated();
      const conversationId = await requireMemberConversationId(context, String(args.conversationId));
      await context.rateLimiter.consume('upload', context.viewer.id);
      const staged = context.uploads?.get(args.file as string);
      if (!staged) throw badUserInput('file', 'The file must be sent as a part of a multipart request.');
      if (staged.state === 'tooLarge') {
        const max = context.attachments.maxUploadBytes;
        throw payloadTooLarge(`Files are limited to ${max} bytes.`, max);
      }
      if (staged.state !== 'stored') throw unauthenticated();
      const prepared = await prepareUpload(staged.path, staged.size, staged.filename, context.attachments.stagingDir);
      try {
        return await context.attachments.store(prepared, conversationId, context.viewer.id);
      } finally {
        // The staged upload goes when the request ends; a re-encoded image and its thumbnail go now.
        if (prepared.path !== staged.path) await rm(prepared.path, { force: true });
        if (prepared.thumbnail) await rm(prepared.thumbnail.path, { force: true });
      }
    },
  }),
);
