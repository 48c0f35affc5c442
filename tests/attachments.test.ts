// File sharing (issue #12) over real HTTP multipart requests: on the embedded
// default (SQLite, files on local disk) and on MySQL + Redis with two
// instances sharing an S3-compatible bucket (s3rver, a real S3 protocol
// server on disk). Every file is made here with sharp.
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeGlobalID } from '@pothos/plugin-relay';
import S3rver from 's3rver';
import sharp from 'sharp';
import { IsNull, LessThan } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../src/app.js';
import { Attachment } from '../src/db/entities/index.js';
import { createLogger } from '../src/logger.js';
import {
  createGroup,
  data,
  errorCode,
  type GraphQLResponse,
  gql,
  openDirect,
  signUp,
  type TestUser,
} from './helpers/client.js';
import { SET_UPS, startServer, type TestServer } from './helpers/server.js';
import { connect, subscribe } from './helpers/ws.js';

const MAX_UPLOAD_BYTES = 2 * 1024 * 1024;
const BUCKET = 'chat-attachments';

const UPLOAD = `mutation ($conversationId: ID!, $file: File!) {
  uploadAttachment(conversationId: $conversationId, file: $file) {
    id kind filename contentType byteSize width height url thumbnailUrl
  }
}`;
const ATTACHMENT_FIELDS = 'id kind filename contentType byteSize width height url thumbnailUrl';
const SEND = `mutation ($input: SendMessageInput!) {
  sendMessage(input: $input) { id body attachments { ${ATTACHMENT_FIELDS} } }
}`;
const HISTORY = `query ($id: ID!) {
  messages(conversationId: $id, last: 20) { edges { node { id body attachments { ${ATTACHMENT_FIELDS} } } } eventCursor }
}`;

type Upload = { name: string; bytes: Uint8Array; type?: string };
type AttachmentView = {
  id: string;
  kind: 'IMAGE' | 'FILE';
  filename: string;
  contentType: string;
  byteSize: number;
  width: number | null;
  height: number | null;
  url: string;
  thumbnailUrl: string | null;
};

/** A multipart request as the GraphQL multipart request spec has it (operations, map, then the file part). */
async function uploadRaw(
  graphqlUrl: string,
  token: string | null,
  conversationId: string,
  file: Upload,
  headers: Record<string, string> = { 'GraphQL-Require-Preflight': '1' },
): Promise<{ status: number; body: GraphQLResponse }> {
  const form = new FormData();
  form.set('operations', JSON.stringify({ query: UPLOAD, variables: { conversationId, file: null } }));
  form.set('map', JSON.stringify({ 0: ['variables.file'] }));
  form.set('0', new Blob([Buffer.from(file.bytes)], { type: file.type ?? 'application/octet-stream' }), file.name);
  const response = await fetch(graphqlUrl, {
    method: 'POST',
    headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: form,
  });
  return { status: response.status, body: (await response.json()) as GraphQLResponse };
}

async function upload(graphqlUrl: string, user: TestUser, conversationId: string, file: Upload) {
  const { body } = await uploadRaw(graphqlUrl, user.token, conversationId, file);
  if (body.errors?.length) throw new Error(`upload failed: ${JSON.stringify(body.errors)}`);
  return body.data!.uploadAttachment as AttachmentView;
}

function sendWith(graphqlUrl: string, user: TestUser, conversationId: string, attachmentIds: string[], body?: string) {
  return gql(graphqlUrl, SEND, { input: { conversationId, body, attachmentIds } }, user.token);
}

// ---------------------------------------------------------------------------
// Files made by the test

/** 40x20 pixels stored sideways: EXIF orientation 6 says "rotate 90° clockwise", so it shows as 20x40. */
const exifJpeg = () =>
  sharp({ create: { width: 40, height: 20, channels: 3, background: { r: 200, g: 30, b: 30 } } })
    .withMetadata({ orientation: 6 })
    .withExif({ IFD0: { Copyright: 'secret-camera-owner', Make: 'TestCam' } })
    .jpeg()
    .toBuffer();
const png = () =>
  sharp({ create: { width: 1200, height: 600, channels: 4, background: { r: 0, g: 120, b: 255, alpha: 0.5 } } })
    .png()
    .toBuffer();
const html = Buffer.from('<!doctype html><html><body><script>alert(document.cookie)</script></body></html>');
const pdf = Buffer.from(
  '%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n',
);

type Instance = { url: string; graphqlUrl: string; app: App };

/** Uploads one user may make at once here (RATE_LIMIT_UPLOAD); above what any other case uploads. */
const UPLOAD_BURST = 14;

describe.each(SET_UPS)('attachments on $name', ({ name, database, options }) => {
  let server: TestServer;
  /** Where requests go: one instance on SQLite, two (alternating by role) on MySQL + Redis. */
  let first: Instance;
  let second: Instance;
  let s3: S3rver | null = null;
  let s3Dir: string | null = null;

  beforeAll(async () => {
    const env: Record<string, string> = {
      ...options.env,
      MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES),
      RATE_LIMIT_UPLOAD: `${UPLOAD_BURST},0.001`,
    };
    if (database === 'mysql') {
      s3Dir = mkdtempSync(join(tmpdir(), 's3rver-'));
      s3 = new S3rver({
        port: 0,
        address: '127.0.0.1',
        silent: true,
        directory: s3Dir,
        configureBuckets: [{ name: BUCKET, configs: [] }],
      });
      const { port } = (await s3.run()) as { port: number };
      Object.assign(env, {
        ATTACHMENT_STORAGE: 's3',
        S3_BUCKET: BUCKET,
        S3_ENDPOINT: `http://127.0.0.1:${port}`,
        S3_FORCE_PATH_STYLE: 'true',
        S3_ACCESS_KEY_ID: 'S3RVER',
        S3_SECRET_ACCESS_KEY: 'S3RVER',
      });
    }
    server = await startServer(database, { ...options, env });
    first = server;
    if (database === 'mysql') {
      // A second instance on the same database, Redis and bucket.
      const config = server.app.services.config;
      const app = await buildApp(config, createLogger({ ...config, logLevel: 'silent' }));
      const url = await app.start();
      second = { url, graphqlUrl: `${url}/graphql`, app };
    } else second = first;
  }, 60_000);

  afterAll(async () => {
    if (second !== first) await second.app.stop();
    await server?.stop();
    await s3?.close();
    if (s3Dir) rmSync(s3Dir, { recursive: true, force: true });
  });

  const stored = async (attachmentId: string) =>
    server.app.services.dataSource.manager.findOneBy(Attachment, { id: Number(decodeGlobalID(attachmentId).id) });
  const objectExists = async (key: string) => {
    const body = await server.app.services.attachments.storage.read(key);
    body?.destroy();
    return body !== null;
  };

  async function threeUsers() {
    const users = await Promise.all([signUp(first.graphqlUrl), signUp(first.graphqlUrl), signUp(first.graphqlUrl)]);
    return users as [TestUser, TestUser, TestUser];
  }

  it('an image is sniffed, rotated by its EXIF orientation, stripped of metadata, and sent to the other side', async () => {
    const [alice, bob] = await threeUsers();
    const direct = await openDirect(first.graphqlUrl, alice, bob);
    const photo = await upload(first.graphqlUrl, alice, direct, {
      name: 'photo.jpg',
      bytes: await exifJpeg(),
      type: 'text/plain',
    });
    expect(photo).toMatchObject({
      kind: 'IMAGE',
      filename: 'photo.jpg',
      contentType: 'image/jpeg',
      width: 20,
      height: 40,
    });
    expect(photo.thumbnailUrl).toMatch(/^\/attachments\/\d+\/thumbnail\?/);

    const sent = await data(
      second.graphqlUrl,
      SEND,
      { input: { conversationId: direct, attachmentIds: [photo.id] } },
      alice.token,
    );
    expect(sent.sendMessage.body).toBeNull();
    expect(sent.sendMessage.attachments.map((a: AttachmentView) => a.id)).toEqual([photo.id]);

    // Bob sees it in history, on the other instance, and downloads it without an Authorization header.
    const history = await data(second.graphqlUrl, HISTORY, { id: direct }, bob.token);
    const [seen] = history.messages.edges.at(-1).node.attachments as AttachmentView[];
    expect(seen).toMatchObject({ id: photo.id, kind: 'IMAGE', width: 20, height: 40 });
    const response = await fetch(new URL(seen!.url, second.url));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/jpeg');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('content-security-policy')).toContain('sandbox');
    expect(response.headers.get('accept-ranges')).toBe('bytes');
    expect(response.headers.get('cache-control')).toMatch(/^private, max-age=\d+$/);
    expect(response.headers.get('etag')).toBeTruthy();
    const bytes = Buffer.from(await response.arrayBuffer());
    expect(bytes.length).toBe(seen!.byteSize);
    const metadata = await sharp(bytes).metadata();
    expect([metadata.width, metadata.height]).toEqual([20, 40]);
    expect(metadata.exif).toBeUndefined();
    expect(metadata.orientation).toBeUndefined();
    expect(bytes.includes(Buffer.from('secret-camera-owner'))).toBe(false);

    // A range, and a revalidation.
    const partial = await fetch(new URL(seen!.url, first.url), { headers: { range: 'bytes=0-9' } });
    expect(partial.status).toBe(206);
    expect(partial.headers.get('content-range')).toBe(`bytes 0-9/${seen!.byteSize}`);
    expect(Buffer.from(await partial.arrayBuffer())).toEqual(bytes.subarray(0, 10));
    const again = await fetch(new URL(seen!.url, first.url), {
      headers: { 'if-none-match': response.headers.get('etag')! },
    });
    expect(again.status).toBe(304);
    const thumbnail = await fetch(new URL(seen!.thumbnailUrl!, first.url));
    expect(thumbnail.status).toBe(200);
    expect(thumbnail.headers.get('content-type')).toBe('image/webp');
  });

  it('a PNG gets a thumbnail of at most 512 px; a PDF is a FILE served as a download', async () => {
    const [alice, bob] = await threeUsers();
    const direct = await openDirect(first.graphqlUrl, alice, bob);
    const picture = await upload(first.graphqlUrl, alice, direct, { name: 'wide.png', bytes: await png() });
    expect(picture).toMatchObject({ kind: 'IMAGE', contentType: 'image/png', width: 1200, height: 600 });
    const document = await upload(second.graphqlUrl, alice, direct, { name: 'report.pdf', bytes: pdf });
    expect(document).toMatchObject({
      kind: 'FILE',
      filename: 'report.pdf',
      contentType: 'application/pdf',
      byteSize: pdf.length,
      width: null,
      height: null,
      thumbnailUrl: null,
    });
    const sent = await sendWith(first.graphqlUrl, alice, direct, [picture.id, document.id], 'two files');
    expect(sent.errors).toBeUndefined();
    const [image, file] = sent.data!.sendMessage.attachments as AttachmentView[];

    const thumbnailResponse = await fetch(new URL(image!.thumbnailUrl!, second.url));
    const thumbnail = Buffer.from(await thumbnailResponse.arrayBuffer());
    expect(thumbnailResponse.status, thumbnail.toString()).toBe(200);
    const size = await sharp(thumbnail).metadata();
    expect([size.width, size.height]).toEqual([512, 256]);

    const download = await fetch(new URL(file!.url, second.url));
    expect(download.status).toBe(200);
    expect(download.headers.get('content-disposition')).toBe(
      `attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`,
    );
    expect(download.headers.get('x-content-type-options')).toBe('nosniff');
    expect(Buffer.from(await download.arrayBuffer())).toEqual(pdf);

    // The conversation list's last message carries them too.
    const list = await data(
      first.graphqlUrl,
      `query { conversations(first: 5) { edges { node { id lastMessage { body attachments { filename kind } } } } } }`,
      {},
      bob.token,
    );
    const conversation = list.conversations.edges.find((edge: any) => edge.node.id === direct).node;
    expect(conversation.lastMessage.attachments).toEqual([
      { filename: 'wide.png', kind: 'IMAGE' },
      { filename: 'report.pdf', kind: 'FILE' },
    ]);
  });

  it('an HTML page is never an image: named .png it is refused, named .html it is a download', async () => {
    const [alice, bob] = await threeUsers();
    const direct = await openDirect(first.graphqlUrl, alice, bob);
    const disguised = await uploadRaw(first.graphqlUrl, alice.token, direct, {
      name: 'cat.png',
      bytes: html,
      type: 'image/png',
    });
    expect(errorCode(disguised.body)).toBe('BAD_USER_INPUT');
    expect(disguised.body.errors![0]!.extensions!.field).toBe('file');
    const page = await upload(first.graphqlUrl, alice, direct, { name: 'page.html', bytes: html, type: 'text/html' });
    expect(page).toMatchObject({ kind: 'FILE', contentType: 'application/octet-stream', thumbnailUrl: null });
    const served = await fetch(new URL(page.url, first.url));
    expect(served.headers.get('content-type')).toBe('application/octet-stream');
    expect(served.headers.get('content-disposition')).toMatch(/^attachment;/);
    expect(served.headers.get('content-security-policy')).toContain('sandbox');
    await served.arrayBuffer();
  });

  it('bad input gets a clear error each, and nothing is stored', async () => {
    const [alice, bob, carol] = await threeUsers();
    const direct = await openDirect(first.graphqlUrl, alice, bob);
    const jpeg = await exifJpeg();
    const before = await server.app.services.dataSource.manager.count(Attachment);
    const cases: [Upload, string, string][] = [
      [{ name: 'empty.txt', bytes: new Uint8Array() }, 'BAD_USER_INPUT', 'empty'],
      [{ name: 'zero.png', bytes: new Uint8Array() }, 'BAD_USER_INPUT', 'empty'],
      [{ name: 'cut.jpg', bytes: jpeg.subarray(0, Math.floor(jpeg.length / 2)) }, 'BAD_USER_INPUT', 'damaged'],
      [{ name: 'photo.gif', bytes: jpeg }, 'BAD_USER_INPUT', 'JPG'],
      [{ name: `${'a'.repeat(10_000)}.txt`, bytes: Buffer.from('hi') }, 'BAD_USER_INPUT', '255'],
      [{ name: '../../etc/passwd', bytes: Buffer.from('hi') }, 'BAD_USER_INPUT', '/'],
      [{ name: 'C:\\Windows\\evil.txt', bytes: Buffer.from('hi') }, 'BAD_USER_INPUT', '\\'],
    ];
    for (const [file, code, words] of cases) {
      const { body } = await uploadRaw(first.graphqlUrl, alice.token, direct, file);
      expect(errorCode(body), `${file.name.slice(0, 40)}: ${JSON.stringify(body)}`).toBe(code);
      expect(body.errors![0]!.message).toContain(words);
    }
    // Over the limit: 413 with PAYLOAD_TOO_LARGE and maxBytes, readable after the whole body was sent.
    const big = await uploadRaw(first.graphqlUrl, alice.token, direct, {
      name: 'big.bin',
      bytes: new Uint8Array(MAX_UPLOAD_BYTES + 1),
    });
    expect(big.status).toBe(413);
    expect(big.body.errors![0]!.extensions).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', maxBytes: MAX_UPLOAD_BYTES });
    const limits = await data(
      first.graphqlUrl,
      'query { limits { maxUploadBytes maxAttachmentsPerMessage maxMessageLength } }',
    );
    expect(limits.limits).toEqual({
      maxUploadBytes: MAX_UPLOAD_BYTES,
      maxAttachmentsPerMessage: 10,
      maxMessageLength: 4000,
    });
    // Not a member: NOT_FOUND; no token: UNAUTHENTICATED; no CSRF header: refused before the body is read.
    expect(
      errorCode(
        (await uploadRaw(first.graphqlUrl, carol.token, direct, { name: 'a.txt', bytes: Buffer.from('x') })).body,
      ),
    ).toBe('NOT_FOUND');
    expect(
      errorCode((await uploadRaw(first.graphqlUrl, null, direct, { name: 'a.txt', bytes: Buffer.from('x') })).body),
    ).toBe('UNAUTHENTICATED');
    const noHeader = await uploadRaw(
      first.graphqlUrl,
      alice.token,
      direct,
      { name: 'a.txt', bytes: Buffer.from('x') },
      {},
    );
    expect(noHeader.status).toBe(403);
    expect(await server.app.services.dataSource.manager.count(Attachment)).toBe(before);
    // The other CSRF header name works as well.
    const apollo = await uploadRaw(
      first.graphqlUrl,
      alice.token,
      direct,
      { name: 'a.txt', bytes: Buffer.from('x') },
      { 'Apollo-Require-Preflight': 'true' },
    );
    expect(apollo.body.errors).toBeUndefined();
    expect(apollo.body.data!.uploadAttachment.contentType).toBe('application/octet-stream');
  });

  it("sendMessage claims only the caller's unsent uploads of that conversation, at most 10", async () => {
    const [alice, bob, carol] = await threeUsers();
    const direct = await openDirect(first.graphqlUrl, alice, bob);
    const group = await createGroup(first.graphqlUrl, alice, [bob, carol]);
    const mine = await upload(first.graphqlUrl, alice, direct, { name: 'a.txt', bytes: Buffer.from('a') });
    const bobs = await upload(first.graphqlUrl, bob, direct, { name: 'b.txt', bytes: Buffer.from('b') });
    const elsewhere = await upload(first.graphqlUrl, alice, group, { name: 'c.txt', bytes: Buffer.from('c') });

    const others = await sendWith(second.graphqlUrl, alice, direct, [mine.id, bobs.id], "with bob's");
    expect(errorCode(others)).toBe('NOT_FOUND');
    expect(others.errors![0]!.extensions!.field).toBe('attachmentIds');
    const wrongConversation = await sendWith(second.graphqlUrl, alice, direct, [elsewhere.id]);
    expect(errorCode(wrongConversation)).toBe('BAD_USER_INPUT');
    const eleven = await sendWith(
      second.graphqlUrl,
      alice,
      direct,
      Array.from({ length: 11 }, () => mine.id),
    );
    expect(errorCode(eleven)).toBe('BAD_USER_INPUT');
    expect(eleven.errors![0]!.extensions!.field).toBe('attachmentIds');
    const nothing = await sendWith(second.graphqlUrl, alice, direct, []);
    expect(errorCode(nothing)).toBe('BAD_USER_INPUT');
    expect(nothing.errors![0]!.extensions!.field).toBe('body');
    // None of those stored a message or claimed an upload.
    expect((await stored(mine.id))!.messageId).toBeNull();
    const history = await data(first.graphqlUrl, HISTORY, { id: direct }, alice.token);
    expect(history.messages.edges).toEqual([]);

    // Bob cannot see Alice's unsent upload, not even through its URL.
    expect((await fetch(new URL(mine.url, first.url))).status).toBe(200);
    const tampered = mine.url.replace(/v=\d+/, `v=${decodeGlobalID(bob.id).id}`);
    expect((await fetch(new URL(tampered, first.url))).status).toBe(403);

    // node(id) answers the uploader only while unsent.
    const node = `query ($id: ID!) { node(id: $id) { id ... on Attachment { filename } } }`;
    expect((await data(first.graphqlUrl, node, { id: mine.id }, alice.token)).node).toEqual({
      id: mine.id,
      filename: 'a.txt',
    });
    expect((await data(first.graphqlUrl, node, { id: mine.id }, bob.token)).node).toBeNull();

    const sent = await sendWith(second.graphqlUrl, alice, direct, [mine.id], 'ok');
    expect((await data(first.graphqlUrl, node, { id: mine.id }, bob.token)).node).toEqual({
      id: mine.id,
      filename: 'a.txt',
    });
    expect((await data(first.graphqlUrl, node, { id: mine.id }, carol.token)).node).toBeNull();
    expect(sent.errors).toBeUndefined();
    const twice = await sendWith(first.graphqlUrl, alice, direct, [mine.id], 'again');
    expect(errorCode(twice)).toBe('CONFLICT');
  });

  it('downloads stop working after leaving, after deletion (files gone), after tampering or expiry', async () => {
    const [alice, bob, carol] = await threeUsers();
    const group = await createGroup(first.graphqlUrl, alice, [bob, carol]);
    const file = await upload(first.graphqlUrl, alice, group, {
      name: 'notes.txt',
      bytes: Buffer.from('meeting notes'),
    });
    const photo = await upload(first.graphqlUrl, alice, group, { name: 'p.png', bytes: await png() });
    const sent = await data(
      first.graphqlUrl,
      SEND,
      { input: { conversationId: group, attachmentIds: [file.id] } },
      alice.token,
    );
    const withPhoto = await data(
      first.graphqlUrl,
      SEND,
      { input: { conversationId: group, attachmentIds: [photo.id] } },
      alice.token,
    );
    const view = async (user: TestUser) =>
      (await data(second.graphqlUrl, HISTORY, { id: group }, user.token)).messages.edges.map(
        (edge: any) => edge.node.attachments[0] as AttachmentView,
      ) as AttachmentView[];
    const [bobsFile] = await view(bob);
    const [carolsFile, carolsPhoto] = await view(carol);
    expect((await fetch(new URL(bobsFile!.url, second.url))).status).toBe(200);

    // Tampered: another attachment id, a later expiry, a changed signature.
    const tamperings = [
      bobsFile!.url.replace(/\/attachments\/\d+\//, `/attachments/${decodeGlobalID(photo.id).id}/`),
      bobsFile!.url.replace(/e=(\d+)/, (_m, e) => `e=${Number(e) + 3600}`),
      bobsFile!.url.replace(/s=./, (m) => (m.endsWith('A') ? 's=B' : 's=A')),
      bobsFile!.url.replace('/file?', '/thumbnail?'),
    ];
    for (const url of tamperings) expect((await fetch(new URL(url, first.url))).status, url).toBe(403);

    // Expired: a URL signed an hour and a half ago by the same key.
    const { UrlSigner } = await import('../src/attachments/signing.js');
    const config = server.app.services.config;
    const past = new UrlSigner(config.jwtSecret, config.attachments.urlTtlSeconds, () => Date.now() - 90 * 60_000);
    const old = past.url(Number(decodeGlobalID(file.id).id), 'file', Number(decodeGlobalID(bob.id).id));
    expect((await fetch(new URL(old, first.url))).status).toBe(403);

    // Bob leaves: his URL stops working; Carol's still works.
    await data(
      first.graphqlUrl,
      'mutation ($id: ID!) { leaveConversation(conversationId: $id) }',
      { id: group },
      bob.token,
    );
    expect((await fetch(new URL(bobsFile!.url, second.url))).status).toBe(404);
    expect((await fetch(new URL(carolsFile!.url, second.url))).status).toBe(200);

    // Alice deletes the photo's message: attachments empty, URL refused, files gone from storage.
    const row = (await stored(photo.id))!;
    await data(
      second.graphqlUrl,
      'mutation ($id: ID!) { deleteMessage(messageId: $id) { id attachments { id } } }',
      { id: withPhoto.sendMessage.id },
      alice.token,
    ).then((result) => expect(result.deleteMessage.attachments).toEqual([]));
    expect((await fetch(new URL(carolsPhoto!.url, first.url))).status).toBe(404);
    expect((await fetch(new URL(carolsPhoto!.thumbnailUrl!, first.url))).status).toBe(404);
    expect(await stored(photo.id)).toBeNull();
    expect(await objectExists(row.storageKey)).toBe(false);
    expect(await objectExists(row.thumbnailKey!)).toBe(false);
    expect(sent.sendMessage.attachments).toHaveLength(1);
  });

  it('uploads are rate-limited per user: past the burst RATE_LIMITED, nothing stored, others unaffected', async () => {
    const [alice, bob] = await threeUsers();
    const conversationId = await openDirect(first.graphqlUrl, alice, bob);
    const file = { name: 'note.pdf', bytes: pdf };
    const uploads = () =>
      server.app.services.dataSource.manager.countBy(Attachment, { uploaderId: Number(decodeGlobalID(alice.id).id) });
    for (let index = 0; index < UPLOAD_BURST; index++) await upload(first.graphqlUrl, alice, conversationId, file);
    const before = await uploads();
    const refused = await uploadRaw(second.graphqlUrl, alice.token, conversationId, file);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect(refused.body.errors?.[0]?.extensions?.retryAfterMs).toBeGreaterThan(0);
    expect(before).toBe(UPLOAD_BURST);
    expect(await uploads()).toBe(before);
    expect((await upload(second.graphqlUrl, bob, conversationId, file)).filename).toBe('note.pdf');
  });

  it('attachments arrive with the message in messageEvents', async () => {
    const [alice, bob] = await threeUsers();
    const direct = await openDirect(first.graphqlUrl, alice, bob);
    const { messages } = await data(first.graphqlUrl, HISTORY, { id: direct }, bob.token);
    const client = connect(second.graphqlUrl, bob.token);
    try {
      const events = subscribe(
        client,
        `subscription ($id: ID, $after: String) { messageEvents(conversationId: $id, after: $after) { kind message { id attachments { ${ATTACHMENT_FIELDS} } } } }`,
        { id: direct, after: messages.eventCursor },
      );
      const photo = await upload(first.graphqlUrl, alice, direct, { name: 'live.jpg', bytes: await exifJpeg() });
      await data(first.graphqlUrl, SEND, { input: { conversationId: direct, attachmentIds: [photo.id] } }, alice.token);
      const event = await events.waitUntil((e) => e.messageEvents.kind === 'CREATED');
      const [live] = event.messageEvents.message.attachments as AttachmentView[];
      expect(live).toMatchObject({ id: photo.id, kind: 'IMAGE', filename: 'live.jpg', width: 20, height: 40 });
      // Signed for Bob: it works for him.
      expect(live!.url).toContain(`v=${decodeGlobalID(bob.id).id}&`);
      expect((await fetch(new URL(live!.url, first.url))).status).toBe(200);
    } finally {
      await client.dispose();
    }
  });

  it(`uploads unsent for 24 hours are deleted by the clean-up, once, ${name === 'sqlite' ? 'on the instance' : 'with two instances sweeping at once'}`, async () => {
    const [alice, bob] = await threeUsers();
    const direct = await openDirect(first.graphqlUrl, alice, bob);
    const kept = await upload(first.graphqlUrl, alice, direct, { name: 'kept.txt', bytes: Buffer.from('kept') });
    const dropped = await upload(first.graphqlUrl, alice, direct, { name: 'p.png', bytes: await png() });
    await data(first.graphqlUrl, SEND, { input: { conversationId: direct, attachmentIds: [kept.id] } }, alice.token);
    const row = (await stored(dropped.id))!;
    const manager = server.app.services.dataSource.manager;
    /** Sweeps on every instance at once, at `ms` after the upload; checks each row went exactly once between them. */
    const sweepAt = async (ms: number) => {
      const at = new Date(row.createdAt.getTime() + ms);
      const unsentBefore = await manager.countBy(Attachment, {
        messageId: IsNull(),
        createdAt: LessThan(new Date(at.getTime() - 24 * 3600_000)),
      });
      const removed = await Promise.all([first, second].map((instance) => instance.app.services.attachments.sweep(at)));
      expect(removed.reduce((a, b) => a + b)).toBeGreaterThanOrEqual(unsentBefore);
      expect(
        await manager.countBy(Attachment, {
          messageId: IsNull(),
          createdAt: LessThan(new Date(at.getTime() - 24 * 3600_000)),
        }),
      ).toBe(0);
    };
    // Just under 24 hours: this one stays (older ones of other tests may go).
    await sweepAt(24 * 3600_000 - 1000);
    expect(await stored(dropped.id)).not.toBeNull();
    expect(await objectExists(row.storageKey)).toBe(true);
    // Past 24 hours: the unsent one goes; the sent one stays.
    await sweepAt(24 * 3600_000 + 1000);
    expect(await stored(dropped.id)).toBeNull();
    expect(await objectExists(row.storageKey)).toBe(false);
    expect(await objectExists(row.thumbnailKey!)).toBe(false);
    expect(await stored(kept.id)).not.toBeNull();
    expect(errorCode(await sendWith(first.graphqlUrl, alice, direct, [dropped.id]))).toBe('NOT_FOUND');
  });
});
